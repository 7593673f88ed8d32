package calc

import (
	"testing"
	"time"
)

func TestAdd(t *testing.T) {
	if Add(1, 2) != 3 {
		t.Fatal("1+2 != 3")
	}
}

func TestSubtract(t *testing.T) {
	time.Sleep(20 * time.Millisecond)
	if got := Add(5, -3); got != 3 {
		t.Errorf("Add(5, -3) = %d, want 3", got)
	}
}

func TestDivide(t *testing.T) {
	t.Skip("division is not implemented yet")
}

func TestTable(t *testing.T) {
	for _, c := range []struct {
		name    string
		a, b, w int
	}{{"zero", 0, 0, 0}, {"negative", -1, -1, -2}, {"wrong", 2, 2, 5}} {
		t.Run(c.name, func(t *testing.T) {
			if got := Add(c.a, c.b); got != c.w {
				t.Errorf("Add(%d, %d) = %d, want %d", c.a, c.b, got, c.w)
			}
		})
	}
}

package price

import "testing"

func TestDiscountHalf(t *testing.T) {
	if got := Discount(1000, 50); got != 500 {
		t.Fatalf("Discount(1000, 50) = %d, want 500", got)
	}
}

func TestDiscountNone(t *testing.T) {
	if got := Discount(1000, 0); got != 1000 {
		t.Fatalf("Discount(1000, 0) = %d, want 1000", got)
	}
}

func TestFormat(t *testing.T) {
	if got := Format(1234); got != "$12.34" {
		t.Fatalf("Format(1234) = %q", got)
	}
}

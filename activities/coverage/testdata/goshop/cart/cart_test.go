package cart

import "testing"

func TestAdd(t *testing.T) {
	var c Cart
	if err := c.Add("apple", 2); err != nil {
		t.Fatal(err)
	}
}

func TestAddInvalid(t *testing.T) {
	var c Cart
	if err := c.Add("apple", 0); err == nil {
		t.Fatal("Add with qty 0 succeeded")
	}
}

// Package cart is a fixture for coverage tests.
package cart

import "errors"

// Cart counts items by SKU.
type Cart struct {
	items map[string]int
}

// Add puts qty items of sku in the cart.
func (c *Cart) Add(sku string, qty int) error {
	if qty <= 0 {
		return errors.New("qty must be positive")
	}
	if c.items == nil {
		c.items = map[string]int{}
	}
	c.items[sku] += qty
	return nil
}

// Count is the number of items in the cart.
func (c *Cart) Count() int {
	n := 0
	for _, qty := range c.items {
		n += qty
	}
	return n
}

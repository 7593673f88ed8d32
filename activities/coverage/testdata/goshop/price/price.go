// Package price is a fixture for coverage tests: its cover profiles under
// ../../ are generated from it (see ../../README.md).
package price

import "fmt"

// Discount returns the price in cents after a percentage discount.
func Discount(cents, percent int) int {
	if percent <= 0 {
		return cents
	}
	if percent >= 100 {
		return 0
	}
	return cents - cents*percent/100
}

// Format renders cents as dollars.
func Format(cents int) string {
	sign := ""
	if cents < 0 {
		sign = "-"
		cents = -cents
	}
	return fmt.Sprintf("%s$%d.%02d", sign, cents/100, cents%100)
}

// Package calc is a fixture for Shipshape's test-results task type.
package calc

// Add returns a + b.
func Add(a, b int) int { return a + b }

package dockerpg

import "testing"

func TestLastColon(t *testing.T) {
	for in, want := range map[string]int{"postgres:16": 8, "registry:5000/pg": -1, "registry:5000/pg:15": 16, "postgres": -1} {
		if got := lastColon(in); got != want {
			t.Errorf("lastColon(%q) = %d, want %d", in, got, want)
		}
	}
}

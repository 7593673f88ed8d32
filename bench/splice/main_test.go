package main

import (
	"strings"
	"testing"
)

func TestReplaceKeepsTheRest(t *testing.T) {
	doc := "# B\n\nprose\n<!-- bench:x -->\nold table\n<!-- /bench:x -->\nmore prose\n"
	got, err := replace(doc, "x", "new table\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# B\n\nprose\n<!-- bench:x -->\nnew table\n<!-- /bench:x -->\nmore prose\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := replace(doc, "y", "t"); err == nil || !strings.Contains(err.Error(), "<!-- bench:y -->") {
		t.Errorf("missing section: %v, want an error naming its markers", err)
	}
}

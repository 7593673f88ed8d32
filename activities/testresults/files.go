package testresults

import (
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/internal/fileglob"
)

// matchFiles expands each pattern (relative ones below base). Every
// pattern must match at least one regular file: a gate must never pass on
// zero files. The result is sorted and has no duplicates.
func matchFiles(base string, patterns []string) ([]string, error) {
	files, err := fileglob.Match(base, patterns, "test report")
	if err != nil {
		return nil, task.InvalidParams("files: %v", err)
	}
	return files, nil
}

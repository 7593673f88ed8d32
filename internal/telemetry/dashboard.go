package telemetry

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
)

// seriesName matches the metric names of Shipshape, the Temporal SDK and
// the Go and process collectors inside a PromQL expression.
var seriesName = regexp.MustCompile(`\b(?:shipshape|temporal|go|process)_[a-zA-Z0-9_:]*`)

// DashboardMetrics lists, sorted and once each, the series that the PromQL
// expressions ("expr") of a Grafana dashboard file read, so a test can
// check that the worker exports each of them.
func DashboardMetrics(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", path, err)
	}
	var names []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if expr, ok := v["expr"].(string); ok {
				names = append(names, seriesName.FindAllString(expr, -1)...)
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(doc)
	slices.Sort(names)
	return slices.Compact(names), nil
}

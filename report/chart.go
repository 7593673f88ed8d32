package report

import (
	"html/template"

	"github.com/shipshape-dev/shipshape/internal/svgchart"
	"github.com/shipshape-dev/shipshape/plan"
)

// seriesChart draws a task's series as a line chart (internal/svgchart,
// which draws the tasks' own SVG charts too), its values written in the
// series' unit and its marks (thresholds) across. The page's caption names
// it.
func seriesChart(s plan.Series) template.HTML {
	c := svgchart.FromSeries(s)
	c.Class = "series-chart"
	c.FormatX = formatNumber
	c.FormatY = unitFormat(s.Unit)
	c.Empty = "no samples"
	return template.HTML(c.SVG()) // svgchart escapes every piece of text
}

// unitFormat writes a value of unit u for people.
func unitFormat(u plan.Unit) func(float64) string {
	switch u {
	case plan.UnitSeconds:
		return formatSeconds
	case plan.UnitBytes:
		return formatBytes
	case plan.UnitRatio:
		return formatPercent
	}
	return formatNumber
}

package svgchart_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/internal/svgchart"
	"github.com/shipshape-dev/shipshape/plan"
)

// mustSVG checks that data is one well-formed SVG document and returns it.
func mustSVG(t *testing.T, data []byte) string {
	t.Helper()
	var doc struct{ XMLName xml.Name }
	if err := xml.Unmarshal(data, &doc); err != nil || doc.XMLName.Local != "svg" {
		t.Fatalf("not an SVG document (%v):\n%s", err, data)
	}
	return string(data)
}

func TestLineChartOfASeries(t *testing.T) {
	c := svgchart.FromSeries(plan.Series{
		Title: "memory <rss>", XLabel: "minutes", X: []float64{1, 2, 3}, Unit: plan.UnitBytes,
		Lines: []plan.Line{{Name: "rss", Values: []float64{100, 180, 150}}, {Name: "heap & co", Values: []float64{50, 60}}},
		Marks: []plan.Mark{{Name: "limit", Value: 200}, {Name: "far away", Value: 10_000}},
	})
	c.Title = "memory <rss>"
	c.Bands = []svgchart.Band{{From: 1.5, To: 2.5, Label: "restart"}}
	c.BandLegend = "restarts"
	svg := mustSVG(t, c.SVG())
	if n := strings.Count(svg, "<polyline"); n != 2 {
		t.Errorf("%d lines, want 2", n)
	}
	for _, want := range []string{
		"<title>memory &lt;rss&gt;</title>", // escaped
		`data-name="heap &amp; co"`,
		`class="mark"`,       // the limit is drawn across
		`class="mark-above"`, // the far one is named in a corner
		">restart</title>", ">restarts<", ">minutes<",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %s", want)
		}
	}
	if strings.Count(svg, `class="mark"`) != 1 {
		t.Error("want one mark drawn across")
	}
}

func TestLineChartWithoutPoints(t *testing.T) {
	svg := mustSVG(t, svgchart.LineChart{Lines: []svgchart.Line{{Name: "p50"}}, Empty: "nothing measured"}.SVG())
	if !strings.Contains(svg, "nothing measured") || strings.Contains(svg, "<polyline") {
		t.Errorf("an empty chart:\n%s", svg)
	}
}

func TestHistogram(t *testing.T) {
	svg := mustSVG(t, svgchart.Histogram{Title: "sizes", Bars: []svgchart.Bar{{From: 0, To: 1, Count: 3}, {From: 1, To: 2}, {From: 2, To: 4, Count: 1}}}.SVG())
	if n := strings.Count(svg, "<rect x="); n != 2 {
		t.Errorf("%d bars, want the 2 with a count", n)
	}
	if empty := mustSVG(t, svgchart.Histogram{}.SVG()); !strings.Contains(empty, "no data") {
		t.Error("an empty histogram does not say so")
	}
}

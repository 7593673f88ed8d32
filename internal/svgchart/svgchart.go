// Package svgchart draws charts as SVG from numbers: a line chart of values
// against X (a task's plan.Series in the HTML report, a load test's latency
// per second in its artifact) and a histogram. It is the one chart
// implementation of Shipshape's reports and task artifacts, so a chart
// looks the same wherever it is drawn.
//
// Every piece of text is escaped as it is drawn, and a chart refers to
// nothing outside itself: it may be inlined into a page or kept as a file.
package svgchart

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"

	"github.com/shipshape-dev/shipshape/plan"
)

// Geometry, in SVG user units.
const (
	width       = 760
	height      = 320
	marginLeft  = 64
	marginRight = 20
	marginTop   = 36
	marginBot   = 44
	plotWidth   = width - marginLeft - marginRight
	plotHeight  = height - marginTop - marginBot
)

// markReach is how far above the highest value a mark may be and still
// set the scale: twice the data's top.
const markReach = 2

// lineColors colour the lines in order; markColor the marks.
var lineColors = []string{"#2b6cb0", "#dd6b20", "#c53030", "#2f855a", "#6b46c1", "#b7791f"}

const (
	markColor = "#4a5568"
	bandColor = "#fed7d7"
	barColor  = "#2b6cb0"
)

// Line is one named line: a value for each X of its chart.
type Line struct {
	Name   string
	Values []float64
}

// Mark is a horizontal line across a chart at Value: a threshold.
type Mark struct {
	Name  string
	Value float64
}

// Band shades the X range From to To, with Label as its tooltip: the
// seconds of a load test that had errors.
type Band struct {
	From, To float64
	Label    string
}

// LineChart is Lines against X, Marks across, Bands shaded.
type LineChart struct {
	// Title is drawn above the plot and is the document's title; empty:
	// neither (a page's caption names the chart).
	Title string
	// Label names the chart for screen readers when there is no Title.
	Label string
	// Class is the class attribute of the svg element, for a page's tests
	// and styles.
	Class  string
	XLabel string
	X      []float64
	Lines  []Line
	Marks  []Mark
	Bands  []Band
	// BandLegend names the bands in the legend.
	BandLegend string
	// FormatX and FormatY write the axes' values; nil: plain numbers.
	FormatX, FormatY func(float64) string
	// Empty is written instead of a plot when no line has a point;
	// default "no data".
	Empty string
}

// FromSeries is the line chart of a series: its lines and marks. The
// caller sets the formatters (values are in s.Unit).
func FromSeries(s plan.Series) LineChart {
	c := LineChart{Label: s.Title, XLabel: s.XLabel, X: s.X}
	for _, l := range s.Lines {
		c.Lines = append(c.Lines, Line{Name: l.Name, Values: l.Values})
	}
	for _, m := range s.Marks {
		c.Marks = append(c.Marks, Mark{Name: m.Name, Value: m.Value})
	}
	return c
}

// SVG draws the chart as a standalone SVG document.
func (c LineChart) SVG() []byte {
	formatX, formatY := orPlain(c.FormatX), orPlain(c.FormatY)
	var b bytes.Buffer
	open(&b, c.Title, c.Label, c.Class)

	// The extent of the data: X from 0 when no X is negative, Y from 0.
	xMin, xMax := math.Inf(1), math.Inf(-1)
	var top float64
	points := 0
	for _, l := range c.Lines {
		for i, v := range l.Values {
			if i >= len(c.X) || !finite(v) || !finite(c.X[i]) {
				continue
			}
			points++
			xMin, xMax = min(xMin, c.X[i]), max(xMax, c.X[i])
			top = max(top, v)
		}
	}
	if points == 0 {
		empty(&b, c.Empty)
		return closeSVG(&b)
	}
	// A mark near the data widens the scale to show it; one far above
	// would flatten the lines, and is named in a corner instead.
	dataTop := top
	for _, m := range c.Marks {
		if finite(m.Value) && m.Value <= markReach*dataTop {
			top = max(top, m.Value)
		}
	}
	for _, band := range c.Bands {
		xMax = max(xMax, band.To)
	}
	if xMin >= 0 {
		xMin = 0
	}
	yTicks := niceTicks(top, 5)
	yMax := yTicks[len(yTicks)-1]
	xTicks := niceTicks(xMax-xMin, 8)
	xSpan := max(xTicks[len(xTicks)-1], xMax-xMin)
	x := func(v float64) float64 { return marginLeft + (v-xMin)/xSpan*plotWidth }
	y := func(v float64) float64 { return marginTop + plotHeight - v/yMax*plotHeight }

	for _, t := range yTicks {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e2e8f0"/>`+"\n", marginLeft, y(t), marginLeft+plotWidth, y(t))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", marginLeft-6, y(t), html.EscapeString(formatY(t)))
	}
	for _, t := range xTicks {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(xMin+t), marginTop+plotHeight+16, html.EscapeString(formatX(xMin+t)))
	}
	if c.XLabel != "" {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", marginLeft+plotWidth/2, height-6, html.EscapeString(c.XLabel))
	}
	axes(&b)

	for _, band := range c.Bands {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" opacity="0.6"><title>%s</title></rect>`+"\n",
			x(band.From), marginTop, max(x(band.To)-x(band.From), 1), plotHeight, bandColor, html.EscapeString(band.Label))
	}
	legend := newLegend(&b)
	for i, l := range c.Lines {
		color := lineColors[i%len(lineColors)]
		var pts bytes.Buffer
		for j, v := range l.Values {
			if j >= len(c.X) || !finite(v) || !finite(c.X[j]) {
				continue
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(c.X[j]), y(v))
		}
		fmt.Fprintf(&b, `<polyline class="line" data-name="%s" fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n",
			html.EscapeString(l.Name), color, bytes.TrimSpace(pts.Bytes()))
		legend.add(color, 4, l.Name)
	}
	above := 0
	for _, m := range c.Marks {
		if !finite(m.Value) {
			continue
		}
		if m.Value > yMax {
			fmt.Fprintf(&b, `<text class="mark-above" x="%d" y="%d" text-anchor="end" fill="%s"><title>%s</title>%s ↑</text>`+"\n",
				marginLeft+plotWidth-4, marginTop+12+12*above, markColor, html.EscapeString(m.Name+": "+formatY(m.Value)+", above the chart"), html.EscapeString(m.Name))
			above++
			continue
		}
		fmt.Fprintf(&b, `<line class="mark" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-dasharray="6 4"><title>%s</title></line>`+"\n",
			marginLeft, y(m.Value), marginLeft+plotWidth, y(m.Value), markColor, html.EscapeString(m.Name+": "+formatY(m.Value)))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="%s">%s</text>`+"\n",
			marginLeft+plotWidth-4, y(m.Value)-4, markColor, html.EscapeString(m.Name))
	}
	if len(c.Bands) > 0 && c.BandLegend != "" {
		legend.add(bandColor, 10, c.BandLegend)
	}
	return closeSVG(&b)
}

// Bar is one bar of a histogram: Count values from From to To.
type Bar struct {
	From, To float64
	Count    int64
}

// Histogram is bars of counts side by side, each labelled by its range.
type Histogram struct {
	Title, Label, Class string
	XLabel              string
	Bars                []Bar
	// FormatX writes the bars' bounds; nil: plain numbers.
	FormatX func(float64) string
	// Empty is written instead of bars when every count is 0; default
	// "no data".
	Empty string
}

// SVG draws the histogram as a standalone SVG document.
func (h Histogram) SVG() []byte {
	formatX := orPlain(h.FormatX)
	var b bytes.Buffer
	open(&b, h.Title, h.Label, h.Class)
	var top int64
	for _, bar := range h.Bars {
		top = max(top, bar.Count)
	}
	if top == 0 {
		empty(&b, h.Empty)
		return closeSVG(&b)
	}
	yTicks := niceTicks(float64(top), 5)
	yMax := yTicks[len(yTicks)-1]
	y := func(v float64) float64 { return marginTop + plotHeight - v/yMax*plotHeight }
	for _, t := range yTicks {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e2e8f0"/>`+"\n", marginLeft, y(t), marginLeft+plotWidth, y(t))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", marginLeft-6, y(t), strconv.FormatFloat(t, 'f', -1, 64))
	}
	barWidth := float64(plotWidth) / float64(len(h.Bars))
	labelEvery := max(1, len(h.Bars)/8)
	for i, bar := range h.Bars {
		px := marginLeft + float64(i)*barWidth
		if bar.Count > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s–%s: %d</title></rect>`+"\n",
				px+0.5, y(float64(bar.Count)), max(barWidth-1, 0.5), float64(plotHeight)+marginTop-y(float64(bar.Count)), barColor,
				html.EscapeString(formatX(bar.From)), html.EscapeString(formatX(bar.To)), bar.Count)
		}
		if i%labelEvery == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px, marginTop+plotHeight+16, html.EscapeString(formatX(bar.From)))
		}
	}
	if h.XLabel != "" {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", marginLeft+plotWidth/2, height-6, html.EscapeString(h.XLabel))
	}
	axes(&b)
	return closeSVG(&b)
}

// legend writes the legend's entries left to right above the plot.
type legend struct {
	b *bytes.Buffer
	x int
}

func newLegend(b *bytes.Buffer) *legend { return &legend{b: b, x: marginLeft + 10} }

func (l *legend) add(color string, swatchHeight int, name string) {
	fmt.Fprintf(l.b, `<rect x="%d" y="%d" width="12" height="%d" fill="%s"/><text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n",
		l.x, marginTop-12-swatchHeight/2, swatchHeight, color, l.x+16, marginTop-12, html.EscapeString(name))
	l.x += 16 + max(54, 7*len([]rune(name))) // about one average glyph of the 11-unit font each
}

func open(b *bytes.Buffer, title, label, class string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg"`)
	if class != "" {
		fmt.Fprintf(b, ` class="%s"`, html.EscapeString(class))
	}
	if label == "" {
		label = title
	}
	if label != "" {
		fmt.Fprintf(b, ` role="img" aria-label="%s"`, html.EscapeString(label))
	}
	fmt.Fprintf(b, ` width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11" fill="#1a202c">`+"\n",
		width, height, width, height)
	if title != "" {
		fmt.Fprintf(b, `<title>%s</title>`+"\n", html.EscapeString(title))
	}
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	if title != "" {
		fmt.Fprintf(b, `<text x="%d" y="16" font-size="13" font-weight="bold">%s</text>`+"\n", marginLeft, html.EscapeString(title))
	}
}

func closeSVG(b *bytes.Buffer) []byte {
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func axes(b *bytes.Buffer) {
	fmt.Fprintf(b, `<path d="M%d %d V%d H%d" fill="none" stroke="#4a5568"/>`+"\n", marginLeft, marginTop, marginTop+plotHeight, marginLeft+plotWidth)
}

func empty(b *bytes.Buffer, text string) {
	if text == "" {
		text = "no data"
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", width/2, height/2, html.EscapeString(text))
}

func orPlain(format func(float64) string) func(float64) string {
	if format != nil {
		return format
	}
	return func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// niceTicks returns about n evenly spaced round values from 0 to at least
// top: steps of 1, 2 or 5 times a power of ten.
func niceTicks(top float64, n int) []float64 {
	if top <= 0 || !finite(top) {
		return []float64{0, 1}
	}
	raw := top / float64(n)
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := pow
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			step = m * pow
			break
		}
	}
	ticks := []float64{0}
	for i := 1; ; i++ {
		v := float64(i) * step // multiplied, not summed, so 0.3 stays 0.3
		ticks = append(ticks, v)
		if v >= top*(1-1e-9) {
			return ticks
		}
	}
}

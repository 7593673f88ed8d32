package loadtest

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"time"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 760
	chartHeight = 320
	marginLeft  = 64
	marginRight = 20
	marginTop   = 36
	marginBot   = 44
	plotWidth   = chartWidth - marginLeft - marginRight
	plotHeight  = chartHeight - marginTop - marginBot
)

// Line colours: p50, p95, p99.
var lineColors = []string{"#2b6cb0", "#dd6b20", "#c53030"}

// LatencyChart draws the p50, p95 and p99 latency of each second as lines,
// and marks the seconds that had errors, as a standalone SVG document.
func LatencyChart(title string, series []Second) []byte {
	var b bytes.Buffer
	svgOpen(&b, title)
	if len(series) == 0 {
		noData(&b)
		return svgClose(&b)
	}
	var top time.Duration
	for _, s := range series {
		top = max(top, s.P99, s.P95, s.P50)
	}
	yTicks := niceTicks(float64(top), 5)
	yMax := yTicks[len(yTicks)-1]
	last := series[len(series)-1].At + time.Second
	xTicks := niceTicks(last.Seconds(), 8)
	xMax := max(xTicks[len(xTicks)-1], last.Seconds())
	x := func(at time.Duration) float64 {
		return marginLeft + (at.Seconds()+0.5)/xMax*plotWidth
	}
	y := func(v float64) float64 { return marginTop + plotHeight - v/yMax*plotHeight }

	for _, t := range yTicks {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e2e8f0"/>`+"\n", marginLeft, y(t), marginLeft+plotWidth, y(t))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", marginLeft-6, y(t), FormatLatency(time.Duration(t)))
	}
	for _, t := range xTicks {
		px := marginLeft + t/xMax*plotWidth
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%ss</text>`+"\n", px, marginTop+plotHeight+16, strconv.FormatFloat(t, 'g', -1, 64))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">time since measuring began</text>`+"\n", marginLeft+plotWidth/2, chartHeight-6)
	axes(&b)

	for _, s := range series {
		if s.Errors > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#fed7d7" opacity="0.6"><title>%ds: %d errors</title></rect>`+"\n",
				x(s.At)-plotWidth/xMax/2, marginTop, plotWidth/xMax, plotHeight, int(s.At.Seconds()), s.Errors)
		}
	}
	lines := []struct {
		name string
		of   func(Second) time.Duration
	}{
		{"p50", func(s Second) time.Duration { return s.P50 }},
		{"p95", func(s Second) time.Duration { return s.P95 }},
		{"p99", func(s Second) time.Duration { return s.P99 }},
	}
	for i, l := range lines {
		var points bytes.Buffer
		for _, s := range series {
			if s.Requests == 0 {
				continue
			}
			fmt.Fprintf(&points, "%.1f,%.1f ", x(s.At), y(float64(l.of(s))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", lineColors[i], bytes.TrimSpace(points.Bytes()))
		lx := marginLeft + 10 + i*70
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="4" fill="%s"/><text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n",
			lx, marginTop-14, lineColors[i], lx+16, marginTop-12, l.name)
	}
	lx := marginLeft + 10 + len(lines)*70
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="10" fill="#fed7d7"/><text x="%d" y="%d" dominant-baseline="middle">seconds with errors</text>`+"\n",
		lx, marginTop-17, lx+16, marginTop-12)
	return svgClose(&b)
}

// HistogramChart draws the latency distribution as bars on a logarithmic
// latency axis, as a standalone SVG document.
func HistogramChart(title string, bars []Bar) []byte {
	var b bytes.Buffer
	svgOpen(&b, title)
	var top int64
	for _, bar := range bars {
		top = max(top, bar.Count)
	}
	if top == 0 {
		noData(&b)
		return svgClose(&b)
	}
	yTicks := niceTicks(float64(top), 5)
	yMax := yTicks[len(yTicks)-1]
	y := func(v float64) float64 { return marginTop + plotHeight - v/yMax*plotHeight }
	for _, t := range yTicks {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e2e8f0"/>`+"\n", marginLeft, y(t), marginLeft+plotWidth, y(t))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", marginLeft-6, y(t), strconv.FormatFloat(t, 'f', -1, 64))
	}
	width := float64(plotWidth) / float64(len(bars))
	labelEvery := max(1, len(bars)/8)
	for i, bar := range bars {
		px := marginLeft + float64(i)*width
		if bar.Count > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2b6cb0"><title>%s–%s: %d</title></rect>`+"\n",
				px+0.5, y(float64(bar.Count)), max(width-1, 0.5), float64(plotHeight)+marginTop-y(float64(bar.Count)),
				FormatLatency(bar.From), FormatLatency(bar.To), bar.Count)
		}
		if i%labelEvery == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px, marginTop+plotHeight+16, FormatLatency(bar.From))
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">latency (logarithmic scale) · responses per bar</text>`+"\n", marginLeft+plotWidth/2, chartHeight-6)
	axes(&b)
	return svgClose(&b)
}

func svgOpen(b *bytes.Buffer, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11" fill="#1a202c">`+"\n",
		chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(b, `<title>%s</title>`+"\n", html.EscapeString(title))
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, chartHeight)
	fmt.Fprintf(b, `<text x="%d" y="16" font-size="13" font-weight="bold">%s</text>`+"\n", marginLeft, html.EscapeString(title))
}

func svgClose(b *bytes.Buffer) []byte {
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func axes(b *bytes.Buffer) {
	fmt.Fprintf(b, `<path d="M%d %d V%d H%d" fill="none" stroke="#4a5568"/>`+"\n", marginLeft, marginTop, marginTop+plotHeight, marginLeft+plotWidth)
}

func noData(b *bytes.Buffer) {
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">no responses measured</text>`+"\n", chartWidth/2, chartHeight/2)
}

// niceTicks returns about n evenly spaced round values from 0 to at least
// top: steps of 1, 2 or 5 times a power of ten.
func niceTicks(top float64, n int) []float64 {
	if top <= 0 || math.IsNaN(top) || math.IsInf(top, 0) {
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
	for v := step; ; v += step {
		ticks = append(ticks, v)
		if v >= top*(1-1e-9) {
			return ticks
		}
	}
}

// FormatLatency writes a latency with three significant digits at most:
// 850µs, 12.3ms, 1.5s.
func FormatLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < 999500*time.Nanosecond: // what rounds to 1000µs reads 1ms
		return threeDigits(float64(d)/float64(time.Microsecond)) + "µs"
	case d < 999500*time.Microsecond:
		return threeDigits(float64(d)/float64(time.Millisecond)) + "ms"
	}
	return threeDigits(d.Seconds()) + "s"
}

func threeDigits(v float64) string {
	decimals := 0
	switch {
	case v < 10:
		decimals = 2
	case v < 100:
		decimals = 1
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if decimals > 0 {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

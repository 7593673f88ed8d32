package report

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// valueKind is how a metric's value reads to a person.
type valueKind int

const (
	plainValue    valueKind = iota // a count or a bare number: 412, 0.25
	durationValue                  // seconds: 183ms, 1.2s, 4m30s
	bytesValue                     // bytes, IEC: 512B, 1.5KiB, 187MiB
	percentValue                   // a ratio from 0 to 1: 87.3%
)

// matchOn says which part of a metric name a valueRule looks at.
type matchOn int

const (
	// lastWord is the text after the name's last '.', '_' or '-':
	// "latency" in "http.latency" and in "db_query_latency".
	lastWord matchOn = iota
	// dottedSuffix is a whole number of trailing dotted segments:
	// "bytes.in" matches "net.bytes.in", not "net.megabytes.in".
	dottedSuffix
	// dottedPrefix is a whole number of leading dotted segments:
	// "coverage" matches "coverage" and "coverage.total".
	dottedPrefix
)

// valueRule shows the metrics whose name has one of Texts (per On) as Kind.
type valueRule struct {
	Kind  valueKind
	On    matchOn
	Texts []string
}

// valueRules decide how FormatValue shows a metric, and they are the only
// place that does. A RunResult carries values in base units but not the
// units themselves, so the metric's name is all there is to go on. Rules are
// tried in order and the first match wins (so "coverage.duration" reads as a
// duration); a name no rule matches is a plain number.
//
// Before matching, one trailing statistic segment (.p50, .p95, .p99, .min,
// .max, .mean, .avg, .median) is set aside, so "http.latency.p95" reads like
// "http.latency" and "response.size.max" like "response.size".
//
// A ".rate" reads as a ratio: name a per-second rate "….per_second" (a plain
// number), not "….rate".
var valueRules = []valueRule{
	{durationValue, lastWord, []string{"latency", "duration", "rto", "rpo", "age", "seconds", "time", "ttl", "elapsed"}},
	{bytesValue, lastWord, []string{"bytes", "size"}},
	{bytesValue, dottedSuffix, []string{"bytes.in", "bytes.out"}},
	// Counts among ratios: coverage.files counts files.
	{plainValue, lastWord, []string{"count", "files", "items"}},
	{percentValue, dottedPrefix, []string{"coverage"}},
	{percentValue, lastWord, []string{"ratio", "rate", "coverage"}},
}

// statistics are the trailing segments set aside before matching valueRules.
var statistics = []string{"min", "max", "mean", "avg", "median"}

// FormatValue formats a metric's value, given in its base unit (seconds,
// bytes, a ratio from 0 to 1, or a count), in the unit a person reads it in:
// "183ms", "1.2s", "187MiB", "87.3%", "412". The unit is inferred from the
// metric's name by the rules in valueRules (documented in docs/report.md).
func FormatValue(metric string, v float64) string {
	switch kindOf(metric) {
	case durationValue:
		return formatSeconds(v)
	case bytesValue:
		return formatBytes(v)
	case percentValue:
		return formatPercent(v)
	}
	return formatNumber(v)
}

// FormatUnit formats a value in unit (a metric's unit as its task said
// it), or as FormatValue infers it from the name when unit is empty.
func FormatUnit(metric string, unit plan.Unit, v float64) string {
	switch unit {
	case plan.UnitSeconds:
		return formatSeconds(v)
	case plan.UnitBytes:
		return formatBytes(v)
	case plan.UnitRatio:
		return formatPercent(v)
	case plan.UnitCount:
		return formatNumber(v)
	}
	return FormatValue(metric, v)
}

// kindOf applies valueRules to a metric name.
func kindOf(metric string) valueKind {
	name := strings.ToLower(metric)
	if i := strings.LastIndexByte(name, '.'); i > 0 && isStatistic(name[i+1:]) {
		name = name[:i]
	}
	word := name[strings.LastIndexAny(name, "._-")+1:]
	for _, rule := range valueRules {
		for _, text := range rule.Texts {
			var ok bool
			switch rule.On {
			case lastWord:
				ok = word == text
			case dottedSuffix:
				ok = name == text || strings.HasSuffix(name, "."+text)
			case dottedPrefix:
				ok = name == text || strings.HasPrefix(name, text+".")
			}
			if ok {
				return rule.Kind
			}
		}
	}
	return plainValue
}

// isStatistic reports whether a name segment is a statistic: p50, p99.9,
// min, max….
func isStatistic(seg string) bool {
	if len(seg) > 1 && seg[0] == 'p' {
		if _, err := strconv.ParseFloat(seg[1:], 64); err == nil && seg[1] >= '0' && seg[1] <= '9' {
			return true
		}
	}
	for _, s := range statistics {
		if seg == s {
			return true
		}
	}
	return false
}

// subSecondUnits are tried smallest first; the first in which a duration
// reads below 1000 (below 60 for seconds) is used.
var subSecondUnits = []struct {
	name  string
	scale float64
	limit float64
}{
	{"ns", 1e-9, 1000},
	{"µs", 1e-6, 1000},
	{"ms", 1e-3, 1000},
	{"s", 1, 60},
}

// formatSeconds formats a duration in seconds with three significant digits
// (see roundForDisplay) below a minute ("183ms", "1.2s", "12.3s") and in two whole units above
// ("4m30s", "2h5m", "3d4h"), which is as precise as a report needs.
func formatSeconds(s float64) string {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return formatNumber(s)
	}
	if s < 0 {
		return "-" + formatSeconds(-s)
	}
	if s == 0 {
		return "0s"
	}
	for _, u := range subSecondUnits {
		if x := roundForDisplay(s / u.scale); x < u.limit {
			return trimFloat(x) + u.name
		}
	}
	if secs := math.Round(s); secs < 3600 {
		return twoUnits(math.Floor(secs/60), "m", math.Mod(secs, 60), "s")
	}
	if mins := math.Round(s / 60); mins < 24*60 {
		return twoUnits(math.Floor(mins/60), "h", math.Mod(mins, 60), "m")
	}
	hours := math.Round(s / 3600)
	return twoUnits(math.Floor(hours/24), "d", math.Mod(hours, 24), "h")
}

// twoUnits writes "4m30s", or "4m" when the smaller unit is zero.
func twoUnits(big float64, bigUnit string, small float64, smallUnit string) string {
	s := strconv.FormatFloat(big, 'f', 0, 64) + bigUnit
	if small != 0 {
		s += strconv.FormatFloat(small, 'f', 0, 64) + smallUnit
	}
	return s
}

// formatDuration formats a time.Duration the way formatSeconds does.
func formatDuration(d time.Duration) string { return formatSeconds(d.Seconds()) }

var byteUnits = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// formatBytes formats a size in IEC units with three significant digits
// (see roundForDisplay),
// written the way plan thresholds are ("512B", "1.5KiB", "187MiB").
func formatBytes(b float64) string {
	if math.IsNaN(b) || math.IsInf(b, 0) {
		return formatNumber(b)
	}
	if b < 0 {
		return "-" + formatBytes(-b)
	}
	if b < 1024 {
		return formatNumber(b) + "B"
	}
	for i := 1; ; i++ {
		x := roundForDisplay(b / math.Pow(1024, float64(i)))
		if x < 1024 || i == len(byteUnits)-1 {
			return trimFloat(x) + byteUnits[i]
		}
	}
}

// formatPercent formats a ratio from 0 to 1 as a percentage with one decimal.
func formatPercent(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return formatNumber(r)
	}
	return strconv.FormatFloat(r*100, 'f', 1, 64) + "%"
}

// formatNumber formats a plain number: integers without decimals, others
// with at most two decimals, or three significant digits below 1.
func formatNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == 0:
		return "0" // not "-0"
	case math.Abs(v) >= 1e15:
		return strconv.FormatFloat(v, 'g', 4, 64)
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1:
		return trimFloat(math.Round(v*100) / 100)
	}
	return trimFloat(math.Copysign(roundSignificant(math.Abs(v), 3), v))
}

// roundForDisplay rounds a positive x to three significant digits, or to a
// whole number when it has more digits than that (1023, not 1020).
func roundForDisplay(x float64) float64 {
	if x >= 100 {
		return math.Round(x)
	}
	return roundSignificant(x, 3)
}

// roundSignificant rounds a positive x to n significant digits.
func roundSignificant(x float64, n int) float64 {
	if x == 0 {
		return 0
	}
	scale := math.Pow(10, float64(n)-math.Floor(math.Log10(x))-1)
	return math.Round(x*scale) / scale
}

// trimFloat writes x in the fewest digits that read back as x.
func trimFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// formatScore writes a score or threshold with at most one decimal, rounded
// down, so a score shown never seems to reach a threshold it missed (89.96
// reads 89.9, not 90).
func formatScore(v float64) string {
	return trimFloat(math.Floor(v*10+1e-9) / 10)
}

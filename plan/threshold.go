package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Threshold is a comparison of a metric with a value in the metric's base
// unit, parsed from text such as "< 200ms", ">= 80" or "<= 10MiB".
type Threshold struct {
	Op    string  `json:"op"`
	Value float64 `json:"value"`
	// Text is the threshold as written in the plan, for reports.
	Text string `json:"text"`
	// Baseline makes the threshold relative to the same metric in an
	// earlier run ("<= baseline * 1.1"); Value is then set from it before
	// the run starts (ResolveBaselines).
	Baseline *Relative `json:"baseline,omitempty"`
}

// Relative is how a relative threshold's value follows from its
// baseline: Value = baseline × Factor + Offset.
type Relative struct {
	Factor float64 `json:"factor"`
	// Offset is in the metric's base unit ("+ 50ms" is 0.05).
	Offset float64 `json:"offset,omitempty"`
	// Value is the baseline, once resolved; nil before, or when there
	// was none (Missing says why).
	Value *float64 `json:"value,omitempty"`
	// Run is the run the baseline came from.
	Run string `json:"run,omitempty"`
	// Missing says why no baseline was found.
	Missing string `json:"missing,omitempty"`
}

// Unresolved reports whether t is relative and has no baseline value.
func (t Threshold) Unresolved() bool { return t.Baseline != nil && t.Baseline.Value == nil }

// Holds reports whether v meets the threshold. A relative threshold
// without its baseline holds for no value.
func (t Threshold) Holds(v float64) bool {
	if t.Unresolved() {
		return false
	}
	switch t.Op {
	case "<":
		return v < t.Value
	case "<=":
		return v <= t.Value
	case ">":
		return v > t.Value
	case ">=":
		return v >= t.Value
	case "==":
		return v == t.Value
	case "!=":
		return v != t.Value
	}
	return false
}

// String returns the threshold as written.
func (t Threshold) String() string { return t.Text }

var ops = []string{"<=", ">=", "==", "!=", "<", ">"}

var durationUnits = map[string]float64{
	"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600,
}

var byteUnits = map[string]float64{
	"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
}

const (
	durationUnitList = "ns, us, ms, s, m, h"
	byteUnitList     = "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB"
)

// ParseThreshold reads a threshold for a metric of the given unit and
// converts its value to that unit's base: seconds, bytes, or a ratio (a
// ratio is written as a percentage, "80%" or a bare "80").
func ParseThreshold(text string, unit Unit) (Threshold, error) {
	s := strings.TrimSpace(text)
	op := ""
	for _, o := range ops {
		if strings.HasPrefix(s, o) {
			op = o
			break
		}
	}
	if op == "" {
		return Threshold{}, fmt.Errorf("threshold %q must start with one of <, <=, >, >=, ==, !=", text)
	}
	rest := strings.TrimSpace(s[len(op):])
	value, err := parseAmount(text, op, rest, unit)
	if err != nil {
		return Threshold{}, err
	}
	return Threshold{Op: op, Value: value, Text: s}, nil
}

// baselineWord starts the right-hand side of a relative threshold.
const baselineWord = "baseline"

// ParseGateThreshold reads a gate's threshold: what ParseThreshold reads,
// or a threshold relative to a baseline (the same metric in an earlier
// run): "<= baseline", "<= baseline * 1.1", ">= baseline * 0.95",
// "< baseline + 50ms", "<= baseline - 5%". A factor is a bare positive
// number; an amount added or taken away is written in the metric's unit.
// The baseline's value is filled in by ResolveBaselines.
func ParseGateThreshold(text string, unit Unit) (Threshold, error) {
	s := strings.TrimSpace(text)
	op := ""
	for _, o := range ops {
		if strings.HasPrefix(s, o) {
			op = o
			break
		}
	}
	rest := strings.TrimSpace(strings.TrimPrefix(s, op))
	if op == "" || !strings.HasPrefix(rest, baselineWord) {
		return ParseThreshold(text, unit)
	}
	rel := &Relative{Factor: 1}
	tail := strings.TrimSpace(rest[len(baselineWord):])
	const want = `after "baseline" write nothing, "* FACTOR", "+ AMOUNT" or "- AMOUNT"`
	switch {
	case tail == "":
	case strings.HasPrefix(tail, "*"):
		num := strings.TrimSpace(tail[1:])
		f, err := strconv.ParseFloat(strings.ReplaceAll(num, "_", ""), 64)
		if err != nil || num == "" || strings.ContainsAny(num, "+-") {
			return Threshold{}, fmt.Errorf("threshold %q: the factor %q is not a plain number (%s)", text, num, want)
		}
		if !(f > 0) || math.IsInf(f, 0) {
			return Threshold{}, fmt.Errorf("threshold %q: the factor must be more than 0, got %v", text, num)
		}
		rel.Factor = f
	case strings.HasPrefix(tail, "+"), strings.HasPrefix(tail, "-"):
		amount := strings.TrimSpace(tail[1:])
		if amount == "" || amount[0] == '-' || amount[0] == '+' {
			return Threshold{}, fmt.Errorf("threshold %q: %s", text, want)
		}
		v, err := parseAmount(text, op+" baseline "+tail[:1], amount, unit)
		if err != nil {
			return Threshold{}, err
		}
		if math.IsInf(v, 0) {
			return Threshold{}, fmt.Errorf("threshold %q is out of range", text)
		}
		if tail[0] == '-' {
			v = -v
		}
		rel.Offset = v
	default:
		return Threshold{}, fmt.Errorf("threshold %q: %s", text, want)
	}
	return Threshold{Op: op, Text: s, Baseline: rel}, nil
}

// parseAmount reads a number with an optional unit suffix ("50ms",
// "80%") in the base unit of unit; after names what precedes it, for
// errors.
func parseAmount(text, after, rest string, unit Unit) (float64, error) {
	i := 0
	for i < len(rest) && (rest[i] == '-' || rest[i] == '+' || rest[i] == '.' || rest[i] == '_' || rest[i] >= '0' && rest[i] <= '9' || (i > 0 && (rest[i] == 'e' || rest[i] == 'E') && i+1 < len(rest) && (rest[i+1] >= '0' && rest[i+1] <= '9' || rest[i+1] == '-' || rest[i+1] == '+'))) {
		i++
	}
	num, suffix := rest[:i], strings.TrimSpace(rest[i:])
	if num == "" {
		return 0, fmt.Errorf("threshold %q has no number after %q", text, after)
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(num, "_", ""), 64)
	if err != nil {
		return 0, fmt.Errorf("threshold %q: %q is not a number", text, num)
	}
	scale, err := unitScale(suffix, unit)
	if err != nil {
		return 0, err
	}
	// Divide by a unit's reciprocal rather than multiply by a fraction:
	// 70 / 100 is exactly the float64 a metric of 7/10 is, 70 * 0.01 is not.
	value := v * scale
	if scale < 1 {
		value = v / math.Round(1/scale)
	}
	return value, nil
}

// Resolve returns t with its baseline set to base from run, and its
// Value computed from it. An absolute threshold is returned as it is.
func (t Threshold) Resolve(base float64, run string) Threshold {
	if t.Baseline == nil {
		return t
	}
	rel := *t.Baseline
	rel.Value, rel.Run, rel.Missing = &base, run, ""
	t.Baseline = &rel
	t.Value = base*rel.Factor + rel.Offset
	return t
}

// WithoutBaseline returns t marked as having no baseline, for the reason
// given.
func (t Threshold) WithoutBaseline(why string) Threshold {
	if t.Baseline == nil {
		return t
	}
	rel := *t.Baseline
	rel.Value, rel.Run, rel.Missing = nil, "", why
	t.Baseline = &rel
	return t
}

func unitScale(suffix string, unit Unit) (float64, error) {
	switch unit {
	case UnitSeconds:
		if suffix == "" {
			return 0, fmt.Errorf("a duration needs a unit (want %s)", durationUnitList)
		}
		if f, ok := durationUnits[suffix]; ok {
			return f, nil
		}
		return 0, fmt.Errorf("unknown unit %q (want %s)", suffix, durationUnitList)
	case UnitBytes:
		if suffix == "" {
			return 1, nil
		}
		if f, ok := byteUnits[suffix]; ok {
			return f, nil
		}
		return 0, fmt.Errorf("unknown unit %q (want %s)", suffix, byteUnitList)
	case UnitRatio:
		if suffix == "" || suffix == "%" {
			return 0.01, nil
		}
		return 0, fmt.Errorf("unknown unit %q for a ratio (want %% or a bare percentage)", suffix)
	case UnitCount:
		if suffix == "" {
			return 1, nil
		}
		return 0, fmt.Errorf("unexpected unit %q: this metric is a count, write a bare number", suffix)
	default: // UnitAny
		if suffix == "" {
			return 1, nil
		}
		if suffix == "%" {
			return 0.01, nil
		}
		if f, ok := durationUnits[suffix]; ok {
			return f, nil
		}
		if f, ok := byteUnits[suffix]; ok {
			return f, nil
		}
		return 0, fmt.Errorf("unknown unit %q (want %s; %s; or %%)", suffix, durationUnitList, byteUnitList)
	}
}

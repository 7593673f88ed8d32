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
}

// Holds reports whether v meets the threshold.
func (t Threshold) Holds(v float64) bool {
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
	i := 0
	for i < len(rest) && (rest[i] == '-' || rest[i] == '+' || rest[i] == '.' || rest[i] == '_' || rest[i] >= '0' && rest[i] <= '9' || (i > 0 && (rest[i] == 'e' || rest[i] == 'E') && i+1 < len(rest) && (rest[i+1] >= '0' && rest[i+1] <= '9' || rest[i+1] == '-' || rest[i+1] == '+'))) {
		i++
	}
	num, suffix := rest[:i], strings.TrimSpace(rest[i:])
	if num == "" {
		return Threshold{}, fmt.Errorf("threshold %q has no number after %q", text, op)
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(num, "_", ""), 64)
	if err != nil {
		return Threshold{}, fmt.Errorf("threshold %q: %q is not a number", text, num)
	}
	scale, err := unitScale(suffix, unit)
	if err != nil {
		return Threshold{}, err
	}
	// Divide by a unit's reciprocal rather than multiply by a fraction:
	// 70 / 100 is exactly the float64 a metric of 7/10 is, 70 * 0.01 is not.
	value := v * scale
	if scale < 1 {
		value = v / math.Round(1/scale)
	}
	return Threshold{Op: op, Value: value, Text: s}, nil
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

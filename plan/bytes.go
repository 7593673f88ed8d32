package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseBytes reads a size such as "512KB", "10MiB", "1.5GB" or a bare
// number of bytes. Units are B, KB, MB, GB, TB (powers of 1000) and KiB,
// MiB, GiB, TiB (powers of 1024), spelled exactly so.
func ParseBytes(s string) (int64, error) {
	text := strings.TrimSpace(s)
	i := 0
	for i < len(text) && (text[i] >= '0' && text[i] <= '9' || text[i] == '.') {
		i++
	}
	num, unit := text[:i], strings.TrimSpace(text[i:])
	if strings.HasPrefix(text, "-") {
		return 0, fmt.Errorf("size %q must not be negative", s)
	}
	if num == "" {
		return 0, fmt.Errorf("size %q must start with a number, as in 512KB or 10MiB", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %q is not a number", s, num)
	}
	scale := 1.0
	if unit != "" {
		f, ok := byteUnits[unit]
		if !ok {
			return 0, fmt.Errorf("size %q: unknown unit %q (want %s)", s, unit, byteUnitList)
		}
		scale = f
	}
	// 1.1KB is 1100.0000000000002 in floating point: round, but refuse a
	// real fraction of a byte.
	n := v * scale
	r := math.Round(n)
	if math.Abs(n-r) >= 0.001 {
		return 0, fmt.Errorf("size %q is not a whole number of bytes", s)
	}
	n = r
	if n >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(n), nil
}

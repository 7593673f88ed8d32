package restoredrill

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// errOutsideWindow is the error of a recovery point older than the
// oldest backup.
var errOutsideWindow = errors.New("outside the retention window")

// recoveryPoint is the recoveryPoint param, read: the latest point, a
// random one in the retention window, or a given time.
type recoveryPoint struct {
	latest, random bool
	at             time.Time
}

// parseRecoveryPoint reads latest, random, an RFC 3339 time, or a
// duration ago (`36h`, `36h ago`) from now.
func parseRecoveryPoint(s string, now time.Time) (recoveryPoint, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "latest":
		return recoveryPoint{latest: true}, nil
	case "random":
		return recoveryPoint{random: true}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if t.After(now) {
			return recoveryPoint{}, fmt.Errorf("%s is in the future", s)
		}
		return recoveryPoint{at: t.UTC()}, nil
	}
	if d, err := time.ParseDuration(strings.TrimSpace(strings.TrimSuffix(s, "ago"))); err == nil {
		if d < 0 {
			return recoveryPoint{}, fmt.Errorf("%s: a duration ago is positive", s)
		}
		return recoveryPoint{at: now.Add(-d).UTC()}, nil
	}
	return recoveryPoint{}, fmt.Errorf("%q: want latest, random, an RFC 3339 time (2026-11-29T06:00:00Z) or a duration ago (36h)", s)
}

// choose picks, among backups that ended at ends (newest first), the
// one to restore for the point, and the point itself (zero for latest:
// the drill's start). The retention window runs from the oldest backup's
// end until now; a point before it is an error naming the window.
func (rp recoveryPoint) choose(ends []time.Time, now time.Time, what string) (int, time.Time, error) {
	if len(ends) == 0 {
		return 0, time.Time{}, fmt.Errorf("no %s", what)
	}
	oldest := ends[len(ends)-1]
	point := rp.at
	switch {
	case rp.latest:
		return 0, time.Time{}, nil
	case rp.random:
		span := now.Sub(oldest)
		point = oldest
		if span > 0 {
			point = oldest.Add(time.Duration(rand.Int64N(int64(span)))).UTC().Truncate(time.Second)
		}
		if point.Before(oldest) {
			point = oldest
		}
	}
	if point.Before(oldest) {
		return 0, time.Time{}, fmt.Errorf("recovery point %s is %w: the %s run from %s to %s",
			point.Format(time.RFC3339), errOutsideWindow, what, oldest.UTC().Format(time.RFC3339), ends[0].UTC().Format(time.RFC3339))
	}
	for i, end := range ends {
		if !end.After(point) {
			return i, point, nil
		}
	}
	return len(ends) - 1, point, nil
}

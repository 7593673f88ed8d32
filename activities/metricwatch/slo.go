package metricwatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/prometheus"
)

// burnWindows are the windows burn rates are measured over: the SRE
// workbook's multiwindow pairs, 1h with 5m and 6h with 30m.
var burnWindows = []string{"5m", "30m", "1h", "6h"}

// SLOInput asks for an SLO's measures at At.
type SLOInput struct {
	Task task.Input `json:"task"`
	At   time.Time  `json:"at"`
}

// SLOResult is an SLO's measures: its metrics, the queries resolved, and
// whether the SLO's window had no events at all (Empty).
type SLOResult struct {
	Metrics map[string]float64 `json:"metrics"`
	Queries []string           `json:"queries"`
	Empty   bool               `json:"empty,omitempty"`
	Notes   []string           `json:"notes,omitempty"`
}

// SLO measures availability and the error budget over the SLO's window,
// and burn rates over the burn windows.
func (a *Activities) SLO(ctx context.Context, in SLOInput) (SLOResult, error) {
	p := in.Task.Params
	slo := p.Object("slo")
	objective, err := parseObjective(slo.String("objective"))
	if err != nil {
		return SLOResult{}, task.InvalidParams("slo.objective: %v", err)
	}
	client, err := a.client(ctx, p)
	if err != nil {
		return SLOResult{}, err
	}
	out := SLOResult{Metrics: map[string]float64{}}
	progress := taskrun.NewProgress(a.cfg.Events, a.cfg.Logger, in.Task)
	// ratio is good/total over window w; ok false when no events.
	ratio := func(w string) (float64, bool, error) {
		var sums [2]float64
		for i, f := range []string{"good", "total"} {
			q := strings.ReplaceAll(slo.String(f), WindowPlaceholder, w)
			out.Queries = append(out.Queries, q)
			qctx, cancel := context.WithTimeout(ctx, p.Duration("queryTimeout"))
			series, err := client.Query(qctx, q, in.At)
			cancel()
			if err != nil {
				if errors.Is(err, prometheus.ErrBadQuery) {
					return 0, false, task.InvalidParams("slo.%s %q: %v", f, q, err)
				}
				return 0, false, task.Failed(task.Output{}, false, "slo.%s %q on %s: %v", f, q, client, err)
			}
			s, err := one(q, in.At, series)
			if err != nil {
				return 0, false, err
			}
			if !s.Empty {
				sums[i] = s.Value
			}
			progress.Report(ctx, task.Progress{Done: -1, Message: fmt.Sprintf("slo %s over %s: %s · %s", f, w, describe(s), q)})
		}
		if sums[1] <= 0 {
			return 0, false, nil
		}
		return min(max(sums[0]/sums[1], 0), 1), true, nil
	}
	window := slo.String("window")
	avail, ok, err := ratio(window)
	if err != nil {
		return SLOResult{}, err
	}
	if ok {
		out.Metrics[MetricAvailability] = avail
		out.Metrics[MetricBudget] = 1 - (1-avail)/(1-objective)
		out.Notes = append(out.Notes, fmt.Sprintf("availability over %s: %s (objective %s)", window, formatPercent(avail), formatPercent(objective)))
	} else {
		out.Empty = true
		out.Notes = append(out.Notes, fmt.Sprintf("no events over %s: total is empty or zero", window))
	}
	burn := map[string]float64{}
	for _, w := range burnWindows {
		r, ok, err := ratio(w)
		if err != nil {
			return SLOResult{}, err
		}
		if !ok { // no events: nothing burns
			r = 1
			out.Notes = append(out.Notes, fmt.Sprintf("no events over the last %s: burn rate 0", w))
		}
		burn[w] = (1 - r) / (1 - objective)
		out.Metrics[MetricBurnPrefix+w] = burn[w]
	}
	out.Metrics[MetricBurnFastPair] = min(burn["1h"], burn["5m"])
	out.Metrics[MetricBurnSlowPair] = min(burn["6h"], burn["30m"])
	return out, nil
}

// parseObjective reads an objective: "99.9%" or 0.999, strictly between 0
// and 1.
func parseObjective(s string) (float64, error) {
	text := strings.TrimSpace(s)
	pct := strings.HasSuffix(text, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(text, "%")), 64)
	if err != nil {
		return 0, fmt.Errorf("want a percentage (99.9%%) or a ratio (0.999), got %q", s)
	}
	if pct {
		v /= 100
	}
	if !(v > 0 && v < 1) {
		return 0, fmt.Errorf("must be between 0 and 100%% exclusive, got %q", s)
	}
	return v, nil
}

// parsePromDuration reads a duration in Prometheus's syntax: units ms,
// s, m, h, d, w, y, largest first (30d, 1h30m).
func parsePromDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}}
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, fmt.Errorf("want a duration such as 30d or 24h, got an empty text")
	}
	var total time.Duration
	last := -1
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("want a duration such as 30d or 24h, got %q", s)
		}
		n, _ := strconv.Atoi(rest[:i])
		rest = rest[i:]
		found := false
		for j, u := range units {
			if strings.HasPrefix(rest, u.suffix) && !(u.suffix == "m" && strings.HasPrefix(rest, "ms")) {
				if j <= last {
					return 0, fmt.Errorf("duration %q: units go largest first", s)
				}
				last, found = j, true
				total += time.Duration(n) * u.d
				rest = rest[len(u.suffix):]
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("duration %q: want units ms, s, m, h, d, w, y", s)
		}
	}
	if total <= 0 {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	return total, nil
}

func formatPercent(r float64) string {
	return strconv.FormatFloat(math.Round(r*1e6)/1e4, 'f', -1, 64) + "%"
}

package plan

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	// Time zones are checked where the plan is validated, which may be
	// a machine without a zone database.
	_ "time/tzdata"

	"gopkg.in/yaml.v3"
)

// Schedule is when a plan runs on its own: `starter schedule create`
// makes a Temporal Schedule from it (flags may override it).
type Schedule struct {
	// Cron are cron expressions (five fields, or @daily, @weekly, …); a
	// run starts at each time any of them names.
	Cron []string `json:"cron,omitempty"`
	// Every starts a run at this interval instead (or as well).
	Every Duration `json:"every,omitempty"`
	// Timezone is the IANA zone the cron expressions are read in; UTC
	// when empty.
	Timezone string `json:"timezone,omitempty"`
	// Jitter delays each start by a random time up to it.
	Jitter Duration `json:"jitter,omitempty"`
}

// IsZero says whether s names no time at all.
func (s Schedule) IsZero() bool { return len(s.Cron) == 0 && s.Every == 0 }

func (d *decoder) schedule(n *yaml.Node) *Schedule {
	f, ok := d.object(n, "schedule", "spec.schedule")
	if !ok {
		return nil
	}
	var s Schedule
	if v, ok := optional(f, "cron"); ok {
		path := "schedule.cron"
		var items []*yaml.Node
		if deref(v).Kind == yaml.ScalarNode {
			items = []*yaml.Node{v}
		} else if items, ok = d.list(v, path, "a cron expression or a list of them"); !ok {
			return nil
		}
		for i, item := range items {
			p := path
			if deref(v).Kind != yaml.ScalarNode {
				p = index(path, i)
			}
			expr, ok := d.str(item, p)
			if !ok {
				continue
			}
			if err := CheckCron(expr); err != nil {
				d.errorf(deref(item), p, "%v", err)
				continue
			}
			s.Cron = append(s.Cron, strings.TrimSpace(expr))
		}
	}
	if v, ok := optional(f, "every"); ok {
		if every, ok := d.positiveDuration(v, "schedule.every"); ok {
			if every < time.Minute {
				d.errorf(deref(v), "schedule.every", "must be at least 1m, got %s", every)
			}
			s.Every = Duration(every)
		}
	}
	if v, ok := optional(f, "timezone"); ok {
		if tz, ok := d.str(v, "schedule.timezone"); ok {
			if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
				d.errorf(deref(v), "schedule.timezone", "unknown time zone %s: want an IANA name such as Europe/Berlin", short(tz))
			}
			s.Timezone = tz
		}
	}
	if v, ok := optional(f, "jitter"); ok {
		if j, _, ok := d.duration(v, "schedule.jitter"); ok {
			s.Jitter = Duration(j)
		}
	}
	_, hasCron := optional(f, "cron")
	_, hasEvery := optional(f, "every")
	if !hasCron && !hasEvery {
		d.errorf(deref(n), "schedule", "give cron or every")
	}
	return &s
}

// cronFields are the five fields of a cron expression: name, range, and
// the names allowed in place of numbers.
var cronFields = []struct {
	name     string
	min, max int
	names    []string
}{
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day of month", 1, 31, nil},
	{"month", 1, 12, []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{"day of week", 0, 7, []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

var cronMacros = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

// CheckCron checks a cron expression the way Temporal Schedules read it:
// five fields (minute hour day-of-month month day-of-week), each `*`, a
// number, a range `a-b`, a list `a,b`, any with a step `/n`; month and
// weekday names; or a macro such as @daily.
func CheckCron(expr string) error {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "@") {
		for _, m := range cronMacros {
			if strings.EqualFold(expr, m) {
				return nil
			}
		}
		return fmt.Errorf("unknown cron macro %q (want one of %s)", expr, strings.Join(cronMacros, ", "))
	}
	fields := strings.Fields(expr)
	if len(fields) != len(cronFields) {
		return fmt.Errorf("cron %q has %d fields, want 5: minute hour day-of-month month day-of-week", expr, len(fields))
	}
	for i, field := range fields {
		spec := cronFields[i]
		for _, part := range strings.Split(field, ",") {
			if err := checkCronPart(part, spec.min, spec.max, spec.names); err != nil {
				return fmt.Errorf("cron %q: %s %q: %v", expr, spec.name, field, err)
			}
		}
	}
	return nil
}

func checkCronPart(part string, min, max int, names []string) error {
	rng, step, hasStep := strings.Cut(part, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n < 1 {
			return fmt.Errorf("step %q must be a number of at least 1", step)
		}
	}
	if rng == "*" {
		return nil
	}
	value := func(s string) (int, error) {
		for i, name := range names {
			if strings.EqualFold(s, name) {
				return i + min, nil
			}
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", s)
		}
		if n < min || n > max {
			return 0, fmt.Errorf("%d is out of range %d-%d", n, min, max)
		}
		return n, nil
	}
	lo, hi, isRange := strings.Cut(rng, "-")
	a, err := value(lo)
	if err != nil {
		return err
	}
	if isRange {
		b, err := value(hi)
		if err != nil {
			return err
		}
		if b < a {
			return fmt.Errorf("range %d-%d goes backwards", a, b)
		}
	}
	return nil
}

package plan_test

import (
	"math"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
)

// FuzzThreshold: thresholds, sizes, rates and cron expressions, as plans
// write them, never crash their parsers, and a threshold that parses holds
// for a finite value or not, never both ways.
func FuzzThreshold(f *testing.F) {
	for _, s := range []string{"< 200ms", ">= 80%", "<= 10MiB", "== 0", "> 1.5s", "!= 3", "< -5s", ">= 1e309", "500/s", "30/m", "*/5 * * * *", "0 9 * * MON-FRI", "1GB", "0.5KiB", "<= baseline * 1.1", "< baseline + 50ms", ">= baseline - 5%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, unit := range []plan.Unit{plan.UnitSeconds, plan.UnitBytes, plan.UnitRatio, plan.UnitCount, plan.UnitAny} {
			th, err := plan.ParseThreshold(s, unit)
			if err != nil {
				continue
			}
			if math.IsNaN(th.Value) {
				t.Fatalf("ParseThreshold(%q, %s) = NaN", s, unit)
			}
			_ = th.Holds(0)
			_ = th.Holds(math.Inf(1))
		}
		for _, unit := range []plan.Unit{plan.UnitSeconds, plan.UnitBytes, plan.UnitRatio, plan.UnitCount, plan.UnitAny} {
			th, err := plan.ParseGateThreshold(s, unit)
			if err != nil {
				continue
			}
			if th.Baseline != nil && (!(th.Baseline.Factor > 0) || math.IsNaN(th.Baseline.Offset) || math.IsInf(th.Baseline.Offset, 0)) {
				t.Fatalf("ParseGateThreshold(%q, %s) = %+v", s, unit, th.Baseline)
			}
			if th.Holds(0) && th.Unresolved() {
				t.Fatalf("an unresolved %q holds", s)
			}
			_ = th.Resolve(1, "run").Holds(1)
		}
		_, _ = plan.ParseBytes(s)
		_, _ = plan.ParseRate(s)
		_ = plan.CheckCron(s)
		_, _ = plan.ParseSets([]string{s})
	})
}

package metricwatch_test

import (
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/metricwatch"
	"github.com/shipshape-dev/shipshape/plan"
)

// eventsPerSample is the history events one sample of a watch costs: a
// timer (TimerStarted, TimerFired), an activity (ActivityTaskScheduled,
// Started, Completed) and the two workflow tasks they wake (Scheduled,
// Started, Completed each).
const eventsPerSample = 11

// BenchmarkWatchSevenDays runs a 7-day watch at 1-minute intervals
// (10,081 samples) in the time-skipping test environment and reports its
// runs (continue-as-new), the history events of its longest run, the
// state carried between runs and the worker's heap.
//
//	go test -run '^$' -bench WatchSevenDays -benchtime 1x ./activities/metricwatch/
func BenchmarkWatchSevenDays(b *testing.B) {
	for b.Loop() {
		var peak uint64
		var ms runtime.MemStats
		n := 0
		lw := runLong(b, map[string]any{"url": "http://prometheus:9090", "query": "error_ratio", "mode": "watch",
			"interval": "1m", "duration": "168h", "threshold": "< 0.05"},
			func(since time.Duration) metricwatch.Sample {
				if n++; n%1000 == 0 {
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapAlloc)
				}
				return metricwatch.Sample{Value: float64(int(since.Minutes())%100) / 10000}
			})
		if lw.err != nil {
			b.Fatal(lw.err)
		}
		runs := (lw.samples + metricwatch.SamplesPerRun - 1) / metricwatch.SamplesPerRun
		b.ReportMetric(float64(lw.samples), "samples")
		b.ReportMetric(float64(runs), "runs")
		b.ReportMetric(float64(metricwatch.SamplesPerRun*eventsPerSample+5), "events/run")
		b.ReportMetric(float64(lw.samples*eventsPerSample+runs*5), "events-total")
		b.ReportMetric(float64(peak)/(1<<20), "heap-MiB")
	}
}

// BenchmarkSampleState is the workflow's cost of one sample: judging it,
// adding it to the statistics and series, deciding whether to stop, and
// the size of the state carried by continue-as-new after a 7-day watch.
func BenchmarkSampleState(b *testing.B) {
	th, _ := plan.ParseThreshold("< 0.05", plan.UnitAny)
	rules := metricwatch.Rules{Thresholds: []plan.Threshold{th}, FailureLimit: 1 << 30}
	var st metricwatch.Stats
	start := time.Now()
	i := 0
	for b.Loop() {
		st.Add(metricwatch.Sample{Value: float64(i%100) / 1000}, time.Duration(i)*time.Minute, rules)
		st.Verdict(rules)
		i++
	}
	st = metricwatch.Stats{}
	for i := range 10081 {
		st.Add(metricwatch.Sample{Value: float64(i%100) / 1000}, time.Duration(i)*time.Minute, rules)
	}
	raw, _ := json.Marshal(metricwatch.State{Started: start, Next: 10081, Stats: st})
	b.ReportMetric(float64(len(raw)), "state-bytes-7d")
}

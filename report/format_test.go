package report_test

import (
	"math"
	"testing"

	"github.com/shipshape-dev/shipshape/report"
)

func TestFormatValue(t *testing.T) {
	tests := []struct {
		name   string
		metric string
		value  float64
		want   string
	}{
		// Durations, in seconds.
		{"latency in ms", "http.latency", 0.183, "183ms"},
		{"percentile under http.latency", "http.latency.p95", 0.612, "612ms"},
		{"p50", "http.latency.p50", 0.0125, "12.5ms"},
		{"p90", "http.latency.p90", 1.2, "1.2s"},
		{"p99", "http.latency.p99", 1.234, "1.23s"},
		{"max", "http.latency.max", 12.345, "12.3s"},
		{"mean", "http.latency.mean", 0.0005, "500µs"},
		{"min", "http.latency.min", 0.00000025, "250ns"},
		{"duration", "restore.duration", 270, "4m30s"},
		{"whole minutes", "tests.duration", 300, "5m"},
		{"rto", "restore.rto", 7500, "2h5m"},
		{"rpo", "backup.rpo", 59.96, "1m"},
		{"age in days", "backup.age", 3*86400 + 4*3600, "3d4h"},
		{"word after an underscore", "db_query_latency", 0.0421, "42.1ms"},
		{"prometheus seconds", "http_request_duration_seconds", 2, "2s"},
		{"rounds up to the next unit", "http.latency", 0.9996, "1s"},
		{"zero duration", "http.latency", 0, "0s"},
		{"negative duration", "clock.skew.duration", -0.25, "-250ms"},
		{"upper case name", "HTTP.Latency.P95", 0.2, "200ms"},

		// Bytes, IEC.
		{"small size", "response.size", 512, "512B"},
		{"KiB", "response.size", 1536, "1.5KiB"},
		{"MiB", "image.size", 187_000_000, "178MiB"},
		{"GiB", "backup.bytes", 5 << 30, "5GiB"},
		{"size statistic", "response.size.p99", 10 << 20, "10MiB"},
		{"bytes in", "net.bytes.in", 2048, "2KiB"},
		{"bytes out", "net.bytes.out", 1 << 40, "1TiB"},
		{"underscore bytes", "heap_bytes", 1023, "1023B"},

		// Ratios, as percentages.
		{"coverage", "coverage", 0.8734, "87.3%"},
		{"coverage.*", "coverage.statements", 0.8, "80.0%"},
		{"coverage as last word", "go.test.coverage", 1, "100.0%"},
		{"rate", "http.errors.rate", 0.004, "0.4%"},
		{"underscore rate", "http.error_rate", 0.0126, "1.3%"},
		{"_ratio", "checklist.done_ratio", 0.5, "50.0%"},
		{".ratio", "cache.hit.ratio", 0.999, "99.9%"},

		// Counts, even among ratios.
		{"coverage.files", "coverage.files", 57, "57"},
		{"checklist.items", "checklist.items", 4, "4"},
		{"a count", "retry.count", 2, "2"},

		// Everything else: plain numbers.
		{"count", "tests.passed", 412, "412"},
		{"zero", "tests.failed", 0, "0"},
		{"negative zero", "tests.failed", math.Copysign(0, -1), "0"},
		{"large count", "http.requests", 1_234_567, "1234567"},
		{"fraction above one", "load.average", 1.2345, "1.23"},
		{"fraction below one", "score.delta", 0.012345, "0.0123"},
		{"negative", "balance", -3, "-3"},
		{"status code count", "http.status.500", 3, "3"},
		{"http status", "http.status", 200, "200"},
		{"exit code", "command.exit_code", 1, "1"},
		{"fractional days", "tls.days_left", 12.4567, "12.46"},
		{"ends in age but is not age", "usage", 3, "3"},
		{"ends in rate but is not rate", "http.accurate", 2, "2"},
		{"ends in size but is not size", "resize", 2, "2"},
		{"statistic of a plain metric", "queue.depth.max", 17, "17"},
		{"a name that is only a statistic", "p95", 0.5, "0.5"},
		{"NaN", "http.latency", math.NaN(), "NaN"},
		{"infinity", "response.size", math.Inf(1), "+Inf"},
		{"huge", "http.requests", 1e18, "1e+18"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := report.FormatValue(tt.metric, tt.value); got != tt.want {
				t.Errorf("FormatValue(%q, %v) = %q, want %q", tt.metric, tt.value, got, tt.want)
			}
		})
	}
}

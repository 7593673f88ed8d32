package prometheus_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/prometheus"
)

// fakeAPI answers every request with status and body: a protocol-level
// fake of the API's envelope, for the answers a real Prometheus gives
// only with effort (its errors, NaN). The package's behaviour against a
// real Prometheus is tested by activities/metricwatch.
func fakeAPI(t *testing.T, status int, body string) *prometheus.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/prom/api/v1/query" && r.URL.Path != "/prom/api/v1/query_range" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := prometheus.New(prometheus.Config{URL: srv.URL + "/prom/", Auth: prometheus.Auth{BearerToken: "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAnswers(t *testing.T) {
	ctx := context.Background()
	c := fakeAPI(t, 200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1764720000.5,"NaN"]},{"metric":{"job":"b"},"value":[1764720000.5,"2.5"]}]}}`)
	s, err := c.Query(ctx, "x", time.Time{})
	if err != nil || len(s) != 2 || !math.IsNaN(s[0].Points[0].Value) || s[1].Points[0].Value != 2.5 || s[1].Labels["job"] != "b" ||
		!s[1].Points[0].At.Equal(time.Unix(1764720000, 5e8)) {
		t.Errorf("vector: %+v %v", s, err)
	}
	c = fakeAPI(t, 200, `{"status":"success","data":{"resultType":"scalar","result":[1764720000,"+Inf"]}}`)
	if s, err := c.Query(ctx, "x", time.Time{}); err != nil || len(s) != 1 || !math.IsInf(s[0].Points[0].Value, 1) {
		t.Errorf("scalar: %+v %v", s, err)
	}
	c = fakeAPI(t, 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"2"]]}]}}`)
	if s, err := c.QueryRange(ctx, "x", time.Unix(1, 0), time.Unix(2, 0), time.Second); err != nil || len(s[0].Points) != 2 {
		t.Errorf("matrix: %+v %v", s, err)
	}
	c = fakeAPI(t, 400, `{"status":"error","errorType":"bad_data","error":"parse error at char 5"}`)
	if _, err := c.Query(ctx, "sum(", time.Time{}); !errors.Is(err, prometheus.ErrBadQuery) || !strings.Contains(err.Error(), "parse error") {
		t.Errorf("bad_data: %v", err)
	}
	c = fakeAPI(t, 503, `{"status":"error","errorType":"timeout","error":"query timed out"}`)
	if _, err := c.Query(ctx, "x", time.Time{}); !errors.Is(err, prometheus.ErrUnavailable) {
		t.Errorf("timeout: %v", err)
	}
	c = fakeAPI(t, 502, `<html>bad gateway</html>`)
	if _, err := c.Query(ctx, "x", time.Time{}); !errors.Is(err, prometheus.ErrUnavailable) {
		t.Errorf("502: %v", err)
	}
}

func TestAuthAndURL(t *testing.T) {
	c := fakeAPI(t, 200, `{}`)
	bad, _ := prometheus.New(prometheus.Config{URL: strings.TrimSuffix(c.String(), "/prom") + "/prom"})
	if _, err := bad.Query(context.Background(), "x", time.Time{}); err == nil || !strings.Contains(err.Error(), "bearer token") {
		t.Errorf("no token: %v", err)
	}
	if _, err := prometheus.New(prometheus.Config{URL: "http://user:pw@host:9090"}); err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("credentials in the URL: %v", err)
	}
	if _, err := prometheus.New(prometheus.Config{URL: "prometheus:9090"}); err == nil {
		t.Error("relative URL accepted")
	}
}

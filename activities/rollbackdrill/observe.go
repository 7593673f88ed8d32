package rollbackdrill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxBody is how much of an endpoint's body is read to find the version
// or the health text.
const maxBody = 1 << 20

// endpoints are what the drill reads: the version, the health, the
// probe load's target.
type endpoints struct {
	version      *url.URL
	jsonField    string
	regex        *regexp.Regexp
	health       *url.URL // nil: the version endpoint's status says
	expectStatus int
	bodyContains string
	probe        *url.URL
	headers      map[string]string
	timeout      time.Duration
}

// sample is one reading of the version and health endpoints.
type sample struct {
	at      time.Duration // since the trigger's start
	version string
	// versionErr says why no version was read ("" when one was).
	versionErr string
	// versionDown says the version endpoint did not answer 2xx.
	versionDown bool
	healthy     bool
	// health says what the health endpoint answered: a status or an error.
	health string
}

// state is what a sample shows, for the timeline: it changes when the
// version or the health does.
func (s sample) state() string {
	v := s.version
	if s.versionErr != "" {
		v = "unknown (" + s.versionErr + ")"
	}
	h := "healthy"
	if !s.healthy {
		h = "unhealthy"
	}
	if s.health != "" {
		h += " (" + s.health + ")"
	}
	return "version " + v + ", " + h
}

// up reports whether the service answered: its health endpoint
// healthy and its version endpoint answering.
func (s sample) up() bool { return s.healthy && !s.versionDown }

// good reports whether s shows the service healthy on version want.
func (s sample) good(want string) bool {
	return s.versionErr == "" && s.version == want && s.healthy
}

// get reads u with GET: its status and the start of its body.
func (d *drill) get(ctx context.Context, u *url.URL) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, d.ends.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(d.ends.headers)) {
		if strings.EqualFold(k, "Host") {
			req.Host = d.ends.headers[k]
			continue
		}
		req.Header.Set(k, d.ends.headers[k])
	}
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read the body: %w", err)
	}
	return resp.StatusCode, body, nil
}

// sample reads the version endpoint and, when there is one, the health
// endpoint.
func (d *drill) sample(ctx context.Context, start time.Time) sample {
	var s sample
	code, body, getErr := d.get(ctx, d.ends.version)
	switch {
	case getErr != nil:
		s.versionErr, s.versionDown = shortErr(getErr), true
	case code < 200 || code > 299:
		s.versionErr, s.versionDown = "status "+strconv.Itoa(code), true
	default:
		var err error
		if s.version, err = d.ends.versionIn(body); err != nil {
			s.versionErr = err.Error()
		}
	}
	if d.ends.health == nil {
		// The version endpoint answering is the health.
		s.healthy = getErr == nil && code >= 200 && code <= 299
		if getErr != nil {
			s.health = shortErr(getErr)
		} else {
			s.health = "status " + strconv.Itoa(code)
		}
	} else {
		hc, hbody, herr := d.get(ctx, d.ends.health)
		switch {
		case herr != nil:
			s.health = shortErr(herr)
		case hc != d.ends.expectStatus:
			s.health = "status " + strconv.Itoa(hc)
		case d.ends.bodyContains != "" && !bytes.Contains(hbody, []byte(d.ends.bodyContains)):
			s.health = "status " + strconv.Itoa(hc) + ", body lacks " + strconv.Quote(d.ends.bodyContains)
		default:
			s.healthy, s.health = true, "status "+strconv.Itoa(hc)
		}
	}
	s.at = time.Since(start)
	return s
}

// shortErr is an error's text without the wrapping of net/http.
func shortErr(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	text := err.Error()
	if len(text) > 120 {
		text = text[:120] + "…"
	}
	return text
}

// versionIn finds the version in a body.
func (e endpoints) versionIn(body []byte) (string, error) {
	switch {
	case e.jsonField != "":
		var doc any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return "", errors.New("the body is not JSON")
		}
		v, ok := jsonAt(doc, e.jsonField)
		if !ok {
			return "", fmt.Errorf("no field %s in the body", e.jsonField)
		}
		switch x := v.(type) {
		case string:
			return x, nil
		case json.Number:
			return x.String(), nil
		case nil:
			return "", fmt.Errorf("field %s is null", e.jsonField)
		}
		text, _ := json.Marshal(v)
		return string(text), nil
	case e.regex != nil:
		m := e.regex.FindSubmatch(body)
		if m == nil {
			return "", errors.New("regex finds nothing in the body")
		}
		if len(m) > 1 {
			return string(m[1]), nil
		}
		return string(m[0]), nil
	}
	return strings.TrimSpace(string(body)), nil
}

// jsonPathPart reads "name", "name[2]" or "[0]".
var jsonPathPart = regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`)

// checkJSONField checks a jsonField path's syntax.
func checkJSONField(path string) error {
	for _, part := range strings.Split(path, ".") {
		m := jsonPathPart.FindStringSubmatch(part)
		if m == nil || (m[1] == "" && m[2] == "") {
			return fmt.Errorf("%q is not a path such as version or build.tags[0]", path)
		}
	}
	return nil
}

// jsonAt walks a dot-separated path with [n] indexes.
func jsonAt(doc any, path string) (any, bool) {
	cur := doc
	for _, part := range strings.Split(path, ".") {
		m := jsonPathPart.FindStringSubmatch(part)
		if m == nil {
			return nil, false
		}
		if m[1] != "" {
			obj, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = obj[m[1]]; !ok {
				return nil, false
			}
		}
		for _, idx := range strings.Split(strings.Trim(m[2], "[]"), "][") {
			if idx == "" {
				continue
			}
			n, _ := strconv.Atoi(idx)
			list, ok := cur.([]any)
			if !ok || n >= len(list) {
				return nil, false
			}
			cur = list[n]
		}
	}
	return cur, true
}

// probeLoad sends GETs at a steady rate until it is stopped, at most
// probeConcurrency at a time (a tick finding them all busy is skipped:
// the load stays light whatever the service does).
type probeLoad struct {
	requests, errors atomic.Int64
	stop             context.CancelFunc
	wg               sync.WaitGroup
}

const (
	// maxProbeRate bounds the probe load: it is a probe, not a load test.
	maxProbeRate     = 50.0
	probeConcurrency = 4
)

// startProbe starts the probe load; nil when rate is 0.
func (d *drill) startProbe(ctx context.Context, rate float64) *probeLoad {
	if rate <= 0 || d.ends.probe == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &probeLoad{stop: cancel}
	slots := make(chan struct{}, probeConcurrency)
	interval := time.Duration(float64(time.Second) / rate)
	p.wg.Go(func() {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case slots <- struct{}{}:
				p.wg.Go(func() {
					defer func() { <-slots }()
					code, _, err := d.get(ctx, d.ends.probe)
					if ctx.Err() != nil {
						return // cut off by the end of the switch: not counted
					}
					p.requests.Add(1)
					if err != nil || code >= 500 {
						p.errors.Add(1)
					}
				})
			default: // all busy: skip this tick
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	})
	return p
}

// finish stops the probe load and returns its counts.
func (p *probeLoad) finish() (requests, errors int) {
	if p == nil {
		return 0, 0
	}
	p.stop()
	p.wg.Wait()
	return int(p.requests.Load()), int(p.errors.Load())
}

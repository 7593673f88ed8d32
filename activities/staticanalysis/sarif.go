package staticanalysis

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strings"
)

// SARIFVersion is the only SARIF version read.
const SARIFVersion = "2.1.0"

// ParseError is input a parser cannot read: what is wrong, and where
// when known. JSON parsers know a byte offset, the others a line;
// LineAt turns an offset into a line.
type ParseError struct {
	// Line is 1-based; 0 when unknown.
	Line int
	// Offset is the byte offset of the problem when Line is unknown
	// (past the end of the input: at its end); -1 when neither is known.
	Offset int64
	Msg    string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

func lineError(line int, format string, args ...any) *ParseError {
	return &ParseError{Line: line, Offset: -1, Msg: fmt.Sprintf(format, args...)}
}

// ParseSARIF reads a SARIF 2.1.0 log from r and calls emit for each
// result of each run. It streams: one result is decoded at a time, and
// only the rules' IDs and default levels are kept from the tool
// descriptor. Results that come before their run's tool descriptor (the
// order of properties is free) are held until the run ends.
//
// A result's level is its own, else its rule's
// defaultConfiguration.level, else "warning" ("none" for a result whose
// kind is not "fail"); results of kind "pass" or "notApplicable" are not
// findings and are skipped.
func ParseSARIF(r io.Reader, emit func(Finding) error) error {
	p := &sarifParser{dec: json.NewDecoder(r), emit: emit}
	err := p.log()
	if err == nil {
		return nil
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	return p.wrap(err)
}

type sarifParser struct {
	dec  *json.Decoder
	emit func(Finding) error
	runs int
}

// wrap turns a decoding error into a ParseError at its offset.
func (p *sarifParser) wrap(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return &ParseError{Offset: syntax.Offset, Msg: "invalid JSON: " + syntax.Error()}
	case errors.As(err, &typeErr):
		return &ParseError{Offset: typeErr.Offset, Msg: fmt.Sprintf("%s is a JSON %s, want %s", typeErr.Field, typeErr.Value, typeErr.Type)}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &ParseError{Offset: math.MaxInt64, Msg: "truncated JSON: the file ends inside the SARIF log"}
	}
	return err
}

func (p *sarifParser) fail(format string, args ...any) error {
	return &ParseError{Offset: p.dec.InputOffset(), Msg: fmt.Sprintf(format, args...)}
}

func (p *sarifParser) log() error {
	tok, err := p.dec.Token()
	if errors.Is(err, io.EOF) {
		return &ParseError{Offset: -1, Msg: "empty file, not a SARIF log"}
	}
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return p.fail("not a SARIF log: it starts with %s, not a JSON object", describeToken(tok))
	}
	version := ""
	for p.dec.More() {
		key, err := p.key()
		if err != nil {
			return err
		}
		switch key {
		case "version":
			if err := p.dec.Decode(&version); err != nil {
				return err
			}
			if version != SARIFVersion {
				return p.fail("SARIF version %q, only %s is supported", version, SARIFVersion)
			}
		case "runs":
			if err := p.array("runs", p.run); err != nil {
				return err
			}
		default:
			if err := p.skip(); err != nil {
				return err
			}
		}
	}
	if _, err := p.dec.Token(); err != nil { // the closing }
		return err
	}
	if version == "" {
		return &ParseError{Offset: -1, Msg: "not a SARIF log: no version property"}
	}
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		return p.fail("unexpected data after the SARIF log")
	}
	return nil
}

// key reads an object key.
func (p *sarifParser) key() (string, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", p.fail("want an object key, got %s", describeToken(tok))
	}
	return s, nil
}

// array reads a JSON array, calling each for every element.
func (p *sarifParser) array(name string, each func() error) error {
	tok, err := p.dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // null: no elements
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return p.fail("%s is %s, want an array", name, describeToken(tok))
	}
	for p.dec.More() {
		if err := each(); err != nil {
			return err
		}
	}
	_, err = p.dec.Token()
	return err
}

// skip skips one value without holding it.
func (p *sarifParser) skip() error {
	depth := 0
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return "'" + v.String() + "'"
	case string:
		return fmt.Sprintf("the string %q", truncate(v, 40))
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// sarifTool is what is kept of a run's tool descriptor.
type sarifTool struct {
	Driver     sarifComponent   `json:"driver"`
	Extensions []sarifComponent `json:"extensions"`
}

type sarifComponent struct {
	Name  string      `json:"name"`
	Rules []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string `json:"id"`
	DefaultConfiguration struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
}

type sarifArtifact struct {
	Location struct {
		URI string `json:"uri"`
	} `json:"location"`
}

type sarifResult struct {
	RuleID    string `json:"ruleId"`
	RuleIndex *int   `json:"ruleIndex"`
	Rule      *struct {
		ID    string `json:"id"`
		Index *int   `json:"index"`
	} `json:"rule"`
	Kind    string `json:"kind"`
	Level   string `json:"level"`
	Message struct {
		Text     string `json:"text"`
		Markdown string `json:"markdown"`
		ID       string `json:"id"`
	} `json:"message"`
	Locations []struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI   string `json:"uri"`
				Index *int   `json:"index"`
			} `json:"artifactLocation"`
			Region struct {
				StartLine   int `json:"startLine"`
				StartColumn int `json:"startColumn"`
			} `json:"region"`
		} `json:"physicalLocation"`
	} `json:"locations"`
	BaselineState       string          `json:"baselineState"`
	PartialFingerprints json.RawMessage `json:"partialFingerprints"`
	Fingerprints        json.RawMessage `json:"fingerprints"`
	Suppressions        []struct {
		Status string `json:"status"`
	} `json:"suppressions"`
}

// pendingResult is a result read before what resolves it (its run's
// tool, or the artifacts its location points into).
type pendingResult struct {
	finding       Finding
	ruleIndex     int // -1: none
	artifactIndex int // -1: none
	fail          bool
}

// sarifRun is the state of the run being read.
type sarifRun struct {
	tool          *sarifTool
	defaults      map[string]string // rule ID → default level
	artifacts     []string
	haveArtifacts bool
	pending       []pendingResult
}

func (p *sarifParser) run() error {
	p.runs++
	tok, err := p.dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return p.fail("runs[%d] is %s, want an object", p.runs-1, describeToken(tok))
	}
	run := &sarifRun{}
	for p.dec.More() {
		key, err := p.key()
		if err != nil {
			return err
		}
		switch key {
		case "tool":
			run.tool = &sarifTool{}
			if err := p.dec.Decode(run.tool); err != nil {
				return err
			}
			run.defaults = map[string]string{}
			for _, c := range append([]sarifComponent{run.tool.Driver}, run.tool.Extensions...) {
				for _, r := range c.Rules {
					if l := r.DefaultConfiguration.Level; l != "" {
						if !validLevel(l) {
							return p.fail("rule %s: defaultConfiguration.level %q is not error, warning, note or none", r.ID, l)
						}
						run.defaults[r.ID] = l
					}
				}
			}
		case "artifacts":
			err := p.array("artifacts", func() error {
				var a sarifArtifact
				if err := p.dec.Decode(&a); err != nil {
					return err
				}
				run.artifacts = append(run.artifacts, a.Location.URI)
				return nil
			})
			if err != nil {
				return err
			}
			run.haveArtifacts = true
		case "results":
			if err := p.array("results", func() error { return p.result(run) }); err != nil {
				return err
			}
		default:
			if err := p.skip(); err != nil {
				return err
			}
		}
	}
	if _, err := p.dec.Token(); err != nil {
		return err
	}
	if run.tool == nil {
		return p.fail("runs[%d] has no tool", p.runs-1)
	}
	for _, r := range run.pending {
		if err := p.resolve(run, r); err != nil {
			return err
		}
	}
	return nil
}

func (p *sarifParser) result(run *sarifRun) error {
	var res sarifResult
	if err := p.dec.Decode(&res); err != nil {
		return err
	}
	if res.Kind == "pass" || res.Kind == "notApplicable" {
		return nil
	}
	if res.Level != "" && !validLevel(res.Level) {
		return p.fail("result level %q is not error, warning, note or none", res.Level)
	}
	if !validBaselineState(res.BaselineState) {
		return p.fail("result baselineState %q is not new, unchanged, updated or absent", res.BaselineState)
	}
	f := Finding{Level: Level(res.Level), BaselineState: res.BaselineState, Message: res.Message.Text}
	if f.Message == "" {
		f.Message = cmp.Or(res.Message.Markdown, res.Message.ID)
	}
	pr := pendingResult{ruleIndex: -1, artifactIndex: -1, fail: res.Kind == "" || res.Kind == "fail"}
	f.Rule = res.RuleID
	if res.Rule != nil && f.Rule == "" {
		f.Rule = res.Rule.ID
	}
	if res.RuleIndex != nil {
		pr.ruleIndex = *res.RuleIndex
	} else if res.Rule != nil && res.Rule.Index != nil {
		pr.ruleIndex = *res.Rule.Index
	}
	if len(res.Locations) > 0 {
		loc := res.Locations[0].PhysicalLocation
		f.File = uriPath(loc.ArtifactLocation.URI)
		f.Line, f.Column = loc.Region.StartLine, loc.Region.StartColumn
		if f.File == "" && loc.ArtifactLocation.Index != nil {
			pr.artifactIndex = *loc.ArtifactLocation.Index
		}
	}
	for _, s := range res.Suppressions {
		// A suppression without a status is in force (SARIF §3.35.3).
		if s.Status == "" || s.Status == "accepted" {
			f.Suppressed = true
		}
	}
	fp, err := firstValue(res.PartialFingerprints)
	if err == nil && fp == "" {
		fp, err = firstValue(res.Fingerprints)
	}
	if err != nil {
		return p.fail("result fingerprints: %v", err)
	}
	f.Fingerprint = fp
	pr.finding = f
	if run.tool == nil || (pr.artifactIndex >= 0 && !run.haveArtifacts) {
		run.pending = append(run.pending, pr)
		return nil
	}
	return p.resolve(run, pr)
}

// resolve completes a result with its run's tool, rules and artifacts,
// and emits it.
func (p *sarifParser) resolve(run *sarifRun, r pendingResult) error {
	f := r.finding
	f.Tool = run.tool.Driver.Name
	if f.Tool == "" {
		f.Tool = "unknown"
	}
	if f.Rule == "" && r.ruleIndex >= 0 && r.ruleIndex < len(run.tool.Driver.Rules) {
		f.Rule = run.tool.Driver.Rules[r.ruleIndex].ID
	}
	if f.File == "" && r.artifactIndex >= 0 && r.artifactIndex < len(run.artifacts) {
		f.File = uriPath(run.artifacts[r.artifactIndex])
	}
	if f.Level == "" {
		switch {
		case !r.fail:
			f.Level = LevelNone
		case run.defaults[f.Rule] != "":
			f.Level = Level(run.defaults[f.Rule])
		default:
			f.Level = LevelWarning
		}
	}
	if f.Fingerprint == "" {
		f.Fingerprint = HashFingerprint(f.Rule, f.File, f.Message)
	}
	return p.emit(f)
}

// firstValue returns the first name=value of a JSON object of strings
// (fingerprints), in the order written; "" for none.
func firstValue(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return "", fmt.Errorf("want an object, got %s", describeToken(tok))
	}
	if !dec.More() {
		return "", nil
	}
	key, err := dec.Token()
	if err != nil {
		return "", err
	}
	var value string
	if err := dec.Decode(&value); err != nil {
		return "", fmt.Errorf("%v: want a string", key)
	}
	return fmt.Sprintf("%v=%s", key, value), nil
}

// uriPath turns an artifact URI into a path: file: URIs to their path,
// relative references unescaped.
func uriPath(uri string) string {
	if uri == "" {
		return ""
	}
	if strings.HasPrefix(uri, "file:") {
		if u, err := url.Parse(uri); err == nil && u.Path != "" {
			return u.Path
		}
	}
	if s, err := url.PathUnescape(uri); err == nil {
		return s
	}
	return uri
}

package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Defaults of a plan, shared by the decoder and the reference.
const (
	defaultPassScore       = 90
	defaultWarningScore    = 75
	defaultConcurrency     = 4
	defaultTimeout         = 10 * time.Minute
	defaultMaxAttempts     = 3
	defaultInitialInterval = time.Second
	defaultMaxInterval     = time.Minute
	defaultBackoff         = 2
	defaultApprovalTimeout = 24 * time.Hour
)

// nameRE is the rule for plan, phase and task names: they end up in NATS
// subjects and workflow IDs, so they are DNS labels.
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

const nameRule = "use 1 to 63 lower-case letters, digits and dashes, starting and ending with a letter or digit"

// Parse decodes, validates and resolves a plan from data; file names the
// source in error messages. An invalid plan returns Errors.
func Parse(file string, data []byte, catalog Catalog, overrides map[string]string) (*Plan, error) {
	return ParseWith(file, data, catalog, overrides, Options{})
}

// ParseWith is Parse with options.
func ParseWith(file string, data []byte, catalog Catalog, overrides map[string]string, opts Options) (*Plan, error) {
	d := &decoder{
		file:       file,
		main:       file,
		catalog:    catalog,
		bad:        map[*yaml.Node]bool{},
		fromVars:   map[*yaml.Node]bool{},
		incomplete: map[*yaml.Node]bool{},
		size:       len(data),
		maxSize:    maxExpandedSize(len(data)),
	}
	d.initReuse(file, opts)
	root := d.document(data)
	if root == nil {
		return nil, d.sorted()
	}
	p := d.plan(root, overrides)
	if len(d.errs) > 0 {
		return nil, d.sorted()
	}
	p.Source = file
	if size := encodedSize(p); size > MaxEncodedSize {
		d.errorf(d.phasesNode, "phases", "the plan is %d bytes as JSON, more than the %d (%s) a run can carry (Temporal refuses a workflow input above 2 MB): split it into several plans, or make it smaller", size, MaxEncodedSize, formatSize(MaxEncodedSize))
		return nil, d.sorted()
	}
	return p, nil
}

// MaxEncodedSize bounds a plan's size as JSON, the form it travels in as
// a run's input: well under the 2 MB Temporal accepts for one payload,
// leaving room for the rest of the input and for a payload codec.
const MaxEncodedSize = 1536 << 10

// encodedSize is the size of p as JSON, as the workflow receives it.
func encodedSize(p *Plan) int {
	data, err := json.Marshal(p)
	if err != nil {
		return math.MaxInt // cannot happen: a plan holds plain, finite data
	}
	return len(data)
}

// document parses data as one YAML document and returns its root node, or
// nil after recording why it cannot.
func (d *decoder) document(data []byte) (root *yaml.Node) {
	defer func() {
		// yaml.v3 reports syntax errors as errors, but a few malformed
		// inputs reach an internal panic; they are syntax errors too.
		if r := recover(); r != nil {
			d.errorf(nil, "", "invalid YAML: %v", r)
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) || err == nil && (len(doc.Content) == 0 || isNull(doc.Content[0])) {
		d.errorf(nil, "", "empty document: a plan starts with apiVersion: %s and kind: %s", APIVersion, Kind)
		return nil
	}
	if err != nil {
		d.syntaxError(data, err)
		return nil
	}
	for {
		var more yaml.Node
		err := dec.Decode(&more)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.syntaxError(data, err)
			return nil
		}
		if len(more.Content) > 0 && !isNull(more.Content[0]) {
			d.errorf(more.Content[0], "", "a plan file holds one YAML document; this is a second one")
			break
		}
	}
	return doc.Content[0]
}

var yamlErrorRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// unquotedThresholdRE finds a threshold written without quotes and
// starting with ">", which YAML reads as a folded block scalar.
var unquotedThresholdRE = regexp.MustCompile(`(?:^|[\s{,])(?:pass|warning)\s*:\s*(>)`)

// syntaxError records a YAML syntax error. yaml.v3 reports a line but no
// column, so the column is 1, except for the likeliest mistake in a plan,
// an unquoted ">= 80", which is pointed at exactly.
func (d *decoder) syntaxError(data []byte, err error) {
	e := FieldError{File: d.file, Via: d.via, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlErrorRE.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Column = 1
		e.Msg = "invalid YAML: " + m[2]
	}
	if e.Line == 0 {
		// Encoding errors come without a line: find the byte.
		var at int
		switch {
		case strings.Contains(e.Msg, "UTF-8"):
			at = firstInvalidUTF8(data)
		case strings.Contains(e.Msg, "control characters"):
			at = firstControl(data)
		default:
			at = -1
		}
		if at >= 0 {
			e.Line, e.Column = position(data, at)
		}
	}
	if e.Line > 0 {
		lines := strings.Split(string(data), "\n")
		if e.Line <= len(lines) {
			line := lines[e.Line-1]
			if m := unquotedThresholdRE.FindStringSubmatchIndex(line); m != nil {
				e.Column = utf8.RuneCountInString(line[:m[2]]) + 1
				e.Msg += `: quote a threshold that starts with ">", as in pass: ">= 80"`
			}
		}
	}
	d.errs = append(d.errs, e)
}

// firstInvalidUTF8 returns the offset of the first byte of data that is
// not valid UTF-8, or -1.
func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// firstControl returns the offset of the first character of data that YAML
// does not allow in a document, or -1.
func firstControl(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		case r < 0x20 || r >= 0x7f && r < 0xa0, r == 0xfffe || r == 0xffff:
			return i
		}
		i += size
	}
	return -1
}

// position is the line and column (in characters, from 1) of the byte at
// offset in data.
func position(data []byte, offset int) (line, column int) {
	before := data[:offset]
	start := bytes.LastIndexByte(before, '\n') + 1
	return bytes.Count(before, []byte("\n")) + 1, utf8.RuneCount(before[start:]) + 1
}

// plan decodes the root mapping.
func (d *decoder) plan(root *yaml.Node, overrides map[string]string) *Plan {
	p := &Plan{}
	if !d.checkAliases(root) {
		return p
	}
	d.checkNodes(root, "")
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "", "a plan must be a mapping with apiVersion, kind, metadata and spec, got %s", describe(root))
		return p
	}
	f, _ := d.object(root, "", "")
	if v, ok := d.need(f, "apiVersion", root, ""); ok {
		if s, ok := d.str(v, "apiVersion"); ok {
			p.APIVersion = s
			if s != APIVersion {
				d.errorf(v, "apiVersion", "must be %s, got %s", APIVersion, short(s))
			}
		}
	}
	if v, ok := d.need(f, "kind", root, ""); ok {
		if s, ok := d.str(v, "kind"); ok {
			p.Kind = s
			if s != Kind {
				d.errorf(v, "kind", "must be %s, got %s", Kind, short(s))
			}
		}
	}
	if v, ok := d.need(f, "metadata", root, ""); ok {
		p.Metadata = d.metadata(v)
	}
	if v, ok := d.need(f, "spec", root, ""); ok {
		p.Spec = d.spec(v, overrides)
	} else {
		d.declareVars(nil, overrides)
	}
	return p
}

// need returns the value of a required field, or reports it missing at the
// object's node.
func (d *decoder) need(f map[string]field, name string, at *yaml.Node, path string) (*yaml.Node, bool) {
	e, ok := f[name]
	if !ok || !present(e.value) {
		if d.incomplete[deref(at)] {
			return nil, false
		}
		if ok {
			at = e.value
		}
		d.errorf(at, join(path, name), "required")
		return nil, false
	}
	return e.value, true
}

// optional returns the value of a field that may be left out.
func optional(f map[string]field, name string) (*yaml.Node, bool) {
	e, ok := f[name]
	if !ok || !present(e.value) {
		return nil, false
	}
	return e.value, true
}

// name reads a required name field and checks it against nameRE. It
// returns the name even when it breaks the rule, so that references to it
// are not reported as well.
func (d *decoder) name(f map[string]field, at *yaml.Node, path string) (string, *yaml.Node) {
	v, ok := d.need(f, "name", at, path)
	if !ok {
		return "", nil
	}
	s, ok := d.str(v, join(path, "name"))
	if !ok {
		return "", nil
	}
	check := s
	if base, ok := d.matrixBase[v]; ok {
		check = base // the [value] a matrix adds was checked with the matrix
	}
	if !nameRE.MatchString(check) {
		d.errorf(v, join(path, "name"), "invalid name %s: %s", short(check), nameRule)
	}
	return s, v
}

func (d *decoder) metadata(n *yaml.Node) Metadata {
	var m Metadata
	f, ok := d.object(n, "metadata", "metadata")
	if !ok {
		return m
	}
	m.Name, _ = d.name(f, n, "metadata")
	if v, ok := optional(f, "labels"); ok {
		entries, _ := d.entries(v, "metadata.labels", "a mapping of strings")
		for _, e := range entries {
			if s, ok := d.str(e.value, join("metadata.labels", e.key.Value)); ok {
				if m.Labels == nil {
					m.Labels = map[string]string{}
				}
				m.Labels[e.key.Value] = s
			}
		}
	}
	return m
}

func (d *decoder) spec(n *yaml.Node, overrides map[string]string) Spec {
	s := Spec{
		Scoring:     Scoring{Pass: defaultPassScore, Warning: defaultWarningScore},
		Concurrency: defaultConcurrency,
	}
	f, ok := d.object(n, "spec", "spec")
	if !ok {
		return s
	}
	vars, _ := optional(f, "vars")
	s.Vars = d.declareVars(vars, overrides)
	if v, ok := optional(f, "include"); ok {
		// The plan's own lists are resolved with its vars first: the
		// included ones are, with theirs, as they are read.
		for _, key := range []string{"templates", "phases", "onFailure"} {
			if v, ok := optional(f, key); ok {
				d.substitute(v, key)
			}
		}
		d.include(v, f, []string{realPath(d.file)})
	}
	if v, ok := optional(f, "templates"); ok {
		d.substitute(v, "templates")
		d.readTemplates(v)
	}
	if v, ok := optional(f, "scoring"); ok {
		s.Scoring = d.scoring(v, s.Scoring)
	}
	if v, ok := optional(f, "concurrency"); ok {
		if c, ok := d.integer(v, "concurrency"); ok {
			if c < 1 {
				d.errorf(v, "concurrency", "must be at least 1, got %d", c)
			} else {
				s.Concurrency = int(c)
			}
		}
	}
	if v, ok := optional(f, "allowedHosts"); ok {
		s.AllowedHosts = d.allowedHostList(v)
		d.allowedHosts = s.AllowedHosts
	}
	if v, ok := optional(f, "limits"); ok {
		s.Limits = d.readLimits(v)
		d.limits = s.Limits
	}
	if v, ok := optional(f, "schedule"); ok {
		s.Schedule = d.schedule(v)
	}
	if v, ok := optional(f, "baseline"); ok {
		if id, ok := d.str(v, "baseline"); ok {
			s.Baseline = id
			s.BaselineAt = Position{Line: deref(v).Line, Column: deref(v).Column}
		}
	}
	if v, ok := d.need(f, "phases", n, "spec"); ok {
		d.phasesNode = f["phases"].key
		d.substitute(v, "phases")
		v = d.expandPhases(v)
		if d.checkSize(v, "phases") {
			s.Phases = d.phases(v)
		}
	}
	if v, ok := optional(f, "onFailure"); ok {
		s.OnFailure = d.onFailure(v, s.Phases)
	}
	return s
}

func (d *decoder) scoring(n *yaml.Node, s Scoring) Scoring {
	f, ok := d.object(n, "scoring", "spec.scoring")
	if !ok {
		return s
	}
	read := func(name string, into *float64) *yaml.Node {
		v, ok := optional(f, name)
		if !ok {
			return nil
		}
		x, ok := d.number(v, join("scoring", name))
		if !ok {
			return nil
		}
		if x < 0 || x > 100 {
			d.errorf(v, join("scoring", name), "must be from 0 to 100, got %v", x)
			return nil
		}
		*into = x
		return v
	}
	passNode := read("pass", &s.Pass)
	warningNode := read("warning", &s.Warning)
	if s.Warning > s.Pass {
		at, path := warningNode, "scoring.warning"
		if at == nil {
			at, path = passNode, "scoring.pass"
		}
		if at != nil {
			d.errorf(at, path, "warning (%v) must not be above pass (%v)", s.Warning, s.Pass)
		}
	}
	return s
}

// maxListed is the most names a message lists.
const maxListed = 50

// formatList writes names for "(want …)" in messages, at most maxListed
// of them.
func formatList(names []string) string {
	if len(names) <= maxListed {
		return listWithMore(names, 0)
	}
	return listWithMore(names[:maxListed], len(names)-maxListed)
}

func listWithMore(shown []string, more int) string {
	switch {
	case len(shown) == 0:
		return "none"
	case more > 0:
		return fmt.Sprintf("%s and %d more", strings.Join(shown, ", "), more)
	}
	return strings.Join(shown, ", ")
}

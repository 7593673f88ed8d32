package sbom

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

// pypiComponent is a PyPI package pinned at version: its name normalised
// as PEP 503 compares names, and a note when the version is not a PEP 440
// one (so no advisory can be matched on it).
func pypiComponent(name, version string, at Location) Component {
	c := newComponent(vulndb.EcosystemPyPI, vulndb.NormalizePyPI(name), version, at)
	if err := vulndb.ValidVersion(vulndb.EcosystemPyPI, version); err != nil {
		c.Note = fmt.Sprintf("version %q is not a PEP 440 version", version)
	}
	return c
}

// requirementLine is a requirement: a name, optional [extras], and a
// version specifier list, before any ;environment marker.
var requirementLine = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$`)

// pinned matches a specifier that pins one version: ==1.2.3 or ===1.2.3.
var pinned = regexp.MustCompile(`^===?\s*([^\s,*;]+)$`)

// Requirements reads a pip requirements file (requirements.txt, pip
// freeze, pip-compile output). Only requirements pinned to one version
// (name==1.2.3, name===1.2.3) can be scanned; every other requirement (a
// range, no version, a URL, an editable install) is listed as a component
// without a version, with a note, and a warning says it is not scannable.
// Options (--index-url, --hash…) are skipped; -r and -c includes are not
// followed: a warning says to list them too. Line continuations and
// comments are handled.
func Requirements(file string, data []byte) (Inventory, error) {
	var inv Inventory
	warn := func(line int, format string, args ...any) {
		inv.Warnings = append(inv.Warnings, fmt.Sprintf("%s:%d: ", file, line)+fmt.Sprintf(format, args...))
	}
	seen := map[string]bool{}
	add := func(c Component) {
		if !seen[c.Ref] {
			seen[c.Ref] = true
			inv.Components = append(inv.Components, c)
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	n, start := 0, 0
	var logical strings.Builder
	lines := 0
	for sc.Scan() {
		n++
		text := sc.Text()
		if logical.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(text, `\`) {
			logical.WriteString(strings.TrimSuffix(text, `\`) + " ")
			continue
		}
		logical.WriteString(text)
		line := logical.String()
		logical.Reset()
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		lines++
		if strings.ContainsRune(line, 0) || !utf8Text(line) {
			return Inventory{}, parseErrorf(file, "line %d: not text: not a requirements file", start)
		}
		switch {
		case strings.HasPrefix(line, "-r"), strings.HasPrefix(line, "--requirement"),
			strings.HasPrefix(line, "-c"), strings.HasPrefix(line, "--constraint"):
			warn(start, "%q includes another file, which is not read: list it too", line)
			continue
		case strings.HasPrefix(line, "-e"), strings.HasPrefix(line, "--editable"):
			warn(start, "%q is an editable install, not a pinned version: not scannable", line)
			continue
		case strings.HasPrefix(line, "-"):
			continue // an option: --index-url, --hash on its own line, --no-binary…
		}
		req, _, _ := strings.Cut(line, ";") // environment markers
		req, hash := cutHashes(req)
		req = strings.TrimSpace(req)
		m := requirementLine.FindStringSubmatch(req)
		at := Location{File: file, Line: start}
		if m == nil || strings.Contains(req, "://") || strings.HasPrefix(strings.TrimSpace(m[3]), "@") {
			warn(start, "%q is not a name==version requirement (a URL or a path): not scannable", req)
			continue
		}
		name, spec := m[1], strings.TrimSpace(m[3])
		if pin := pinned.FindStringSubmatch(spec); pin != nil {
			c := pypiComponent(name, pin[1], at)
			c.Hash = hash
			add(c)
			continue
		}
		why := "no version"
		if spec != "" {
			why = "the range " + spec
		}
		warn(start, "%s is not pinned to one version (%s): not scannable; pin it (name==version) or scan a lockfile", name, why)
		c := newComponent(vulndb.EcosystemPyPI, vulndb.NormalizePyPI(name), "", at)
		c.Note = "not pinned: " + why
		add(c)
	}
	if err := sc.Err(); err != nil {
		return Inventory{}, parseErrorf(file, "%v", err)
	}
	if lines == 0 {
		return Inventory{}, parseErrorf(file, "no requirements: an empty requirements file")
	}
	return inv, nil
}

// cutHashes removes --hash=alg:hex options from a requirement, returning
// the first hash.
func cutHashes(req string) (string, string) {
	fields := strings.Fields(req)
	var keep []string
	hash := ""
	for _, f := range fields {
		if h, ok := strings.CutPrefix(f, "--hash="); ok {
			if hash == "" {
				hash = h
			}
			continue
		}
		keep = append(keep, f)
	}
	return strings.Join(keep, " "), hash
}

func utf8Text(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// poetryLock is the part of poetry.lock Shipshape reads.
type poetryLock struct {
	Package []struct {
		Name     string `toml:"name"`
		Version  string `toml:"version"`
		Category string `toml:"category"` // Poetry before 1.5: "main" or "dev"
		Source   struct {
			Type string `toml:"type"`
		} `toml:"source"`
	} `toml:"package"`
	Metadata struct {
		ContentHash string `toml:"content-hash"`
	} `toml:"metadata"`
}

// PoetryLock reads a poetry.lock: every [[package]] is a component, but
// local ones (a directory or file source) which are first-party code.
// Packages of category "dev" (Poetry before 1.5) are marked Dev.
func PoetryLock(file string, data []byte) (Inventory, error) {
	var lock poetryLock
	if _, err := toml.Decode(string(data), &lock); err != nil {
		return Inventory{}, parseErrorf(file, "not a poetry.lock: %v", err)
	}
	if lock.Metadata.ContentHash == "" && len(lock.Package) == 0 {
		return Inventory{}, parseErrorf(file, "no [[package]] and no [metadata] content-hash: not a poetry.lock")
	}
	lines := tomlPackageLines(data)
	var inv Inventory
	seen := map[string]bool{}
	for i, p := range lock.Package {
		if p.Name == "" || p.Version == "" {
			return Inventory{}, parseErrorf(file, "[[package]] %d has no name or version", i+1)
		}
		if p.Source.Type == "directory" || p.Source.Type == "file" {
			continue
		}
		c := pypiComponent(p.Name, p.Version, Location{File: file, Line: at(lines, i)})
		c.Dev = p.Category == "dev"
		if !seen[c.Ref] {
			seen[c.Ref] = true
			inv.Components = append(inv.Components, c)
		}
	}
	return inv, nil
}

// uvLock is the part of uv.lock Shipshape reads.
type uvLock struct {
	Version *int `toml:"version"`
	Package []struct {
		Name    string         `toml:"name"`
		Version string         `toml:"version"`
		Source  map[string]any `toml:"source"`
	} `toml:"package"`
}

// UVLock reads a uv.lock: every [[package]] from a registry, git or a URL
// is a component; the project itself (an editable or virtual source ".")
// is the inventory's Main; other local packages are first-party code.
func UVLock(file string, data []byte) (Inventory, error) {
	var lock uvLock
	if _, err := toml.Decode(string(data), &lock); err != nil {
		return Inventory{}, parseErrorf(file, "not a uv.lock: %v", err)
	}
	if lock.Version == nil {
		return Inventory{}, parseErrorf(file, "no version: not a uv.lock")
	}
	lines := tomlPackageLines(data)
	var inv Inventory
	seen := map[string]bool{}
	for i, p := range lock.Package {
		if p.Name == "" {
			return Inventory{}, parseErrorf(file, "[[package]] %d has no name", i+1)
		}
		loc := Location{File: file, Line: at(lines, i)}
		local := ""
		for _, k := range []string{"editable", "virtual", "directory", "path"} {
			if v, ok := p.Source[k].(string); ok {
				local = v
			}
		}
		if local != "" {
			if local == "." && inv.Main == nil {
				m := newComponent(vulndb.EcosystemPyPI, vulndb.NormalizePyPI(p.Name), p.Version, loc)
				inv.Main = &m
			}
			continue
		}
		if p.Version == "" {
			return Inventory{}, parseErrorf(file, "[[package]] %s has no version", p.Name)
		}
		c := pypiComponent(p.Name, p.Version, loc)
		if !seen[c.Ref] {
			seen[c.Ref] = true
			inv.Components = append(inv.Components, c)
		}
	}
	return inv, nil
}

// tomlPackageLines finds the line of every [[package]] header, in order.
func tomlPackageLines(data []byte) []int {
	var lines []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "[[package]]" {
			lines = append(lines, n)
		}
	}
	return lines
}

func at(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

type pipfileLock struct {
	Meta    *json.RawMessage          `json:"_meta"`
	Default map[string]pipfilePackage `json:"default"`
	Develop map[string]pipfilePackage `json:"develop"`
}

type pipfilePackage struct {
	Version  string   `json:"version"`
	Hashes   []string `json:"hashes"`
	Git      string   `json:"git"`
	Path     string   `json:"path"`
	File     string   `json:"file"`
	Editable bool     `json:"editable"`
}

// PipfileLock reads a Pipfile.lock: the packages of default and develop
// (the latter marked Dev unless default has them too), pinned as
// "==1.2.3". Packages from git, a path or a file carry no version: they
// are warned about as not scannable.
func PipfileLock(file string, data []byte) (Inventory, error) {
	var lock pipfileLock
	if err := json.Unmarshal(data, &lock); err != nil {
		return Inventory{}, parseErrorf(file, "not a Pipfile.lock: %v", err)
	}
	if lock.Meta == nil {
		return Inventory{}, parseErrorf(file, "no _meta: not a Pipfile.lock")
	}
	lines := jsonKeyLines(data)
	var inv Inventory
	seen := map[string]int{}
	for _, section := range []struct {
		pkgs map[string]pipfilePackage
		dev  bool
	}{{lock.Default, false}, {lock.Develop, true}} {
		names := make([]string, 0, len(section.pkgs))
		for n := range section.pkgs {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, name := range names {
			p := section.pkgs[name]
			loc := Location{File: file, Line: lines[name]}
			version, ok := strings.CutPrefix(p.Version, "==")
			if !ok {
				from := p.Git + p.Path + p.File
				if from == "" {
					from = "version " + strconvQuote(p.Version)
				}
				inv.Warnings = append(inv.Warnings, fmt.Sprintf("%s: %s is not pinned to a PyPI version (%s): not scannable", file, name, from))
				continue
			}
			c := pypiComponent(name, strings.TrimPrefix(version, "="), loc)
			c.Dev = section.dev
			if len(p.Hashes) > 0 {
				c.Hash = p.Hashes[0]
			}
			if i, ok := seen[c.Ref]; ok {
				inv.Components[i].Dev = inv.Components[i].Dev && c.Dev
				continue
			}
			seen[c.Ref] = len(inv.Components)
			inv.Components = append(inv.Components, c)
		}
	}
	return inv, nil
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// jsonKeyLines finds the first line where each "key": { opens an object.
func jsonKeyLines(data []byte) map[string]int {
	lines := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(text, `"`) || !strings.HasSuffix(text, "{") {
			continue
		}
		if key, _, ok := strings.Cut(text[1:], `"`); ok {
			if _, dup := lines[key]; !dup {
				lines[key] = n
			}
		}
	}
	return lines
}

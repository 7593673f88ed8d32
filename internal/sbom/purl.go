package sbom

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

// PURL is a package URL (https://github.com/package-url/purl-spec):
// pkg:type/namespace/name@version?qualifiers#subpath.
type PURL struct {
	Type      string
	Namespace string
	Name      string
	Version   string
	// Qualifiers and Subpath are kept as written (still encoded).
	Qualifiers string
	Subpath    string
}

// ParsePURL reads a package URL.
func ParsePURL(s string) (PURL, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "pkg:")
	if !ok {
		return PURL{}, fmt.Errorf("purl %q: does not start with pkg:", s)
	}
	rest = strings.TrimLeft(rest, "/")
	var p PURL
	rest, p.Subpath, _ = strings.Cut(rest, "#")
	rest, p.Qualifiers, _ = strings.Cut(rest, "?")
	if i := strings.LastIndexByte(rest, '@'); i >= 0 && strings.Contains(rest[:i], "/") {
		v, err := url.PathUnescape(rest[i+1:])
		if err != nil {
			return PURL{}, fmt.Errorf("purl %q: version: %w", s, err)
		}
		p.Version, rest = v, rest[:i]
	}
	typ, path, ok := strings.Cut(rest, "/")
	if !ok || typ == "" {
		return PURL{}, fmt.Errorf("purl %q: no type/name", s)
	}
	p.Type = strings.ToLower(typ)
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range segs {
		d, err := url.PathUnescape(seg)
		if err != nil {
			return PURL{}, fmt.Errorf("purl %q: %w", s, err)
		}
		segs[i] = d
	}
	p.Name = segs[len(segs)-1]
	p.Namespace = strings.Join(segs[:len(segs)-1], "/")
	if p.Name == "" {
		return PURL{}, fmt.Errorf("purl %q: no name", s)
	}
	return p, nil
}

// String writes the package URL with its parts percent-encoded.
func (p PURL) String() string {
	var b strings.Builder
	b.WriteString("pkg:" + p.Type + "/")
	if p.Namespace != "" {
		for _, seg := range strings.Split(p.Namespace, "/") {
			b.WriteString(escape(seg) + "/")
		}
	}
	b.WriteString(escape(p.Name))
	if p.Version != "" {
		b.WriteString("@" + escape(p.Version))
	}
	if p.Qualifiers != "" {
		b.WriteString("?" + p.Qualifiers)
	}
	if p.Subpath != "" {
		b.WriteString("#" + p.Subpath)
	}
	return b.String()
}

// escape percent-encodes everything but the unreserved characters.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// purlEcosystems maps purl types to OSV ecosystems.
var purlEcosystems = map[string]string{
	"golang": vulndb.EcosystemGo, "npm": vulndb.EcosystemNpm, "pypi": "PyPI", "maven": "Maven",
	"cargo": "crates.io", "gem": "RubyGems", "nuget": "NuGet", "composer": "Packagist",
	"hex": "Hex", "pub": "Pub", "swift": "SwiftURL", "deb": "Debian", "apk": "Alpine",
}

// Coordinates returns the OSV ecosystem, package name and version a
// package URL names; ecosystem is "" for purl types OSV has no ecosystem
// for.
func (p PURL) Coordinates() (ecosystem, name, version string) {
	ecosystem = purlEcosystems[p.Type]
	name = p.Name
	switch p.Type {
	case "maven":
		if p.Namespace != "" {
			name = p.Namespace + ":" + p.Name
		}
	default:
		if p.Namespace != "" {
			name = p.Namespace + "/" + p.Name
		}
	}
	return ecosystem, name, p.Version
}

// PURLFor builds the package URL of a package in an OSV ecosystem; "" for
// ecosystems without a purl type.
func PURLFor(ecosystem, name, version string) string {
	for typ, eco := range purlEcosystems {
		if eco != ecosystem {
			continue
		}
		p := PURL{Type: typ, Name: name, Version: version}
		switch typ {
		case "maven":
			if g, a, ok := strings.Cut(name, ":"); ok {
				p.Namespace, p.Name = g, a
			}
		case "pypi":
			p.Name = vulndb.NormalizePyPI(name)
		default:
			if i := strings.LastIndexByte(name, '/'); i >= 0 {
				p.Namespace, p.Name = name[:i], name[i+1:]
			}
		}
		return p.String()
	}
	return ""
}

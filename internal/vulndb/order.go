package vulndb

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	pep440 "github.com/aquasecurity/go-pep440-version"
	xsemver "golang.org/x/mod/semver"
)

// EcosystemPyPI is the Python Package Index's OSV ecosystem.
const EcosystemPyPI = "PyPI"

// A versionOrder reads the versions of one scheme and orders them: Go's
// semantic versions (with pseudo-versions and release tags), npm's
// node-semver, Python's PEP 440.
type versionOrder struct {
	name  string
	parse func(string) (orderedVersion, error)
}

// orderedVersion is a version a versionOrder read; it compares only with
// versions of the same order.
type orderedVersion interface {
	compare(other orderedVersion) int
}

type goVersion string // canonical, "v" prefixed

func (v goVersion) compare(o orderedVersion) int {
	return xsemver.Compare(string(v), string(o.(goVersion)))
}

type npmVersion struct{ v *semver.Version }

func (v npmVersion) compare(o orderedVersion) int { return v.v.Compare(o.(npmVersion).v) }

type pyVersion struct{ v pep440.Version }

func (v pyVersion) compare(o orderedVersion) int { return v.v.Compare(o.(pyVersion).v) }

var (
	// goOrder is Semantic Versioning 2.0 as golang.org/x/mod/semver
	// implements it, on versions Canonical accepts.
	goOrder = versionOrder{name: "a semantic version", parse: func(s string) (orderedVersion, error) {
		c := Canonical(s)
		if c == "" {
			return nil, fmt.Errorf("%q is not a semantic version", s)
		}
		return goVersion(c), nil
	}}
	// npmOrder is node-semver's order (github.com/Masterminds/semver):
	// a leading "v" or "=" is allowed, build metadata does not count.
	npmOrder = versionOrder{name: "an npm version", parse: func(s string) (orderedVersion, error) {
		s = strings.TrimPrefix(strings.TrimSpace(s), "=")
		v, err := semver.NewVersion(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an npm (semver) version: %w", s, err)
		}
		return npmVersion{v}, nil
	}}
	// pep440Order is PEP 440's order (github.com/aquasecurity/go-pep440-version):
	// epochs, pre-, post- and development releases, local versions.
	pep440Order = versionOrder{name: "a PEP 440 version", parse: func(s string) (orderedVersion, error) {
		v, err := pep440.Parse(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not a PEP 440 version", s)
		}
		return pyVersion{v}, nil
	}}
)

// ecosystemOrders are the ecosystems whose own version order Shipshape
// knows, so that their ECOSYSTEM ranges can be evaluated. Other ecosystems
// (Maven, Debian…) match only through an advisory's explicit versions list.
var ecosystemOrders = map[string]versionOrder{
	EcosystemGo: goOrder, EcosystemNpm: npmOrder, EcosystemPyPI: pep440Order,
	"crates.io": goOrder, "Hex": goOrder, "Pub": goOrder, "SwiftURL": goOrder,
}

// ecosystemOrder is the order of an ecosystem's versions; ok is false for
// ecosystems whose order is not known.
func ecosystemOrder(ecosystem string) (versionOrder, bool) {
	o, ok := ecosystemOrders[baseEcosystem(ecosystem)]
	return o, ok
}

// rangeOrder is the order a range of type typ is evaluated in for a
// package of ecosystem: SEMVER ranges in Semantic Versioning's (npm's own
// reading of it for npm packages), ECOSYSTEM ranges in the ecosystem's.
// ok is false for ranges that cannot be evaluated (GIT ranges name
// commits; ECOSYSTEM ranges of an ecosystem whose order is not known).
func rangeOrder(typ, ecosystem string) (versionOrder, bool) {
	switch typ {
	case RangeSemver:
		if baseEcosystem(ecosystem) == EcosystemNpm {
			return npmOrder, true
		}
		return goOrder, true
	case RangeEcosystem:
		return ecosystemOrder(ecosystem)
	}
	return versionOrder{}, false
}

// SemverEcosystem reports whether ecosystem's versions order as semantic
// versions.
func SemverEcosystem(ecosystem string) bool {
	o, ok := ecosystemOrder(ecosystem)
	return ok && o.name != pep440Order.name
}

// ValidVersion reports whether v is a version of ecosystem's scheme (a
// PEP 440 version for PyPI, a semantic version for Go and npm); nil for
// ecosystems whose scheme is not known.
func ValidVersion(ecosystem, v string) error {
	o, ok := ecosystemOrder(ecosystem)
	if !ok {
		return nil
	}
	_, err := o.parse(v)
	return err
}

// CompareVersions orders two versions of ecosystem; ok is false when the
// ecosystem's order is not known or either does not parse in it.
func CompareVersions(ecosystem, a, b string) (int, bool) {
	o, ok := ecosystemOrder(ecosystem)
	if !ok {
		o = goOrder
	}
	return o.compare(a, b)
}

func (o versionOrder) compare(a, b string) (int, bool) {
	va, err := o.parse(a)
	if err != nil {
		return 0, false
	}
	vb, err := o.parse(b)
	if err != nil {
		return 0, false
	}
	return va.compare(vb), true
}

// pypiSeparators are the runs PEP 503 folds into one "-".
var pypiSeparators = regexp.MustCompile(`[-_.]+`)

// NormalizePyPI is a PyPI project name as PEP 503 compares names:
// lower case, every run of "-", "_" and "." one "-".
func NormalizePyPI(name string) string {
	return strings.ToLower(pypiSeparators.ReplaceAllString(strings.TrimSpace(name), "-"))
}

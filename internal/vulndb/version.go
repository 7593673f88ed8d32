package vulndb

import (
	"regexp"
	"strings"

	"golang.org/x/mod/semver"
)

// Ecosystems Shipshape reads packages of.
const (
	EcosystemGo  = "Go"
	EcosystemNpm = "npm"
)

// The Go vulnerability database's pseudo-modules: the standard library
// (its versions are Go releases) and the go command.
const (
	ModuleStdlib    = "stdlib"
	ModuleToolchain = "toolchain"
)

// baseEcosystem drops an ecosystem's release suffix ("Debian:12" → "Debian").
func baseEcosystem(e string) string {
	if i := strings.IndexByte(e, ':'); i >= 0 {
		return e[:i]
	}
	return e
}

// Canonical returns v as a semantic version with a "v" prefix, as
// golang.org/x/mod/semver wants it, or "" when v is not one. It accepts
// versions with or without the prefix ("1.2.3", "v1.2.3"), Go pseudo-versions,
// "+incompatible" and other build metadata (which never affect order),
// and Go release tags ("go1.21.3", "go1.22rc1").
func Canonical(v string) string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "go") {
		return GoTagToSemver(v)
	}
	v = strings.TrimPrefix(v, "=")
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if !semver.IsValid(v) {
		return ""
	}
	return v
}

// goTag matches Go release tags: 1 major.minor, 2 .patch, 3 beta or rc, 4 its number.
var goTag = regexp.MustCompile(`^go(\d+\.\d+)(\.\d+)?(?:(beta|rc)(\d+))?$`)

// GoTagToSemver turns a Go release tag into the semantic version the Go
// vulnerability database uses for stdlib and toolchain: go1.21.3 →
// v1.21.3, go1.20 → v1.20.0, go1.22rc1 → v1.22.0-rc.1. Text after the tag
// (" X:boringcrypto" in a binary's build info) is ignored; anything else
// (a devel build) gives "".
func GoTagToSemver(tag string) string {
	fields := strings.Fields(tag)
	if len(fields) == 0 {
		return ""
	}
	tag = fields[0]
	if tag == "go1" {
		return "v1.0.0"
	}
	m := goTag.FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	v := "v" + m[1]
	if m[2] != "" {
		v += m[2]
	} else {
		v += ".0"
	}
	if m[3] != "" {
		v += "-" + m[3] + "." + m[4]
	}
	return v
}

// SemverToGoTag is the inverse of GoTagToSemver, for showing stdlib and
// toolchain versions as Go users know them: v1.21.3 → go1.21.3, v1.20.0 →
// go1.20 (releases before Go 1.21 had no ".0"), v1.22.0-rc.1 → go1.22rc1.
func SemverToGoTag(v string) string {
	c := Canonical(v)
	if c == "" {
		return v
	}
	if c == "v1.0.0" {
		return "go1"
	}
	pre := semver.Prerelease(c)
	base := strings.TrimSuffix(semver.Canonical(c), semver.Build(c))
	base = strings.TrimSuffix(base, pre)
	if strings.HasSuffix(base, ".0") && (pre != "" || semver.Compare(base, "v1.21.0") < 0) {
		base = strings.TrimSuffix(base, ".0")
	}
	tag := "go" + strings.TrimPrefix(base, "v")
	if pre != "" {
		tag += strings.Replace(strings.TrimPrefix(pre, "-"), ".", "", 1)
	}
	return tag
}

// displayVersion shows a version the way its ecosystem writes it.
func displayVersion(ecosystem, name, v string) string {
	if v == "" {
		return ""
	}
	if ecosystem == EcosystemGo {
		if name == ModuleStdlib || name == ModuleToolchain {
			return SemverToGoTag(v)
		}
		if c := Canonical(v); c != "" && !strings.HasPrefix(v, "v") {
			return "v" + v
		}
	}
	return v
}

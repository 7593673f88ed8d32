package sbom

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"fmt"
	"io"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

// GoModule reads a Go module's go.mod (and go.sum, when given: nil means
// none) into its required modules, replacements applied, plus the
// standard library and the go command as the Go vulnerability database's
// stdlib and toolchain pseudo-modules. goVersion ("go1.22.5") is the Go
// release that builds the module; "" means the go.mod's toolchain
// directive, else its go directive, the oldest release allowed to build it.
func GoModule(file string, gomod, gosum []byte, goVersion string) (Inventory, error) {
	mf, err := modfile.Parse(file, gomod, nil)
	if err != nil {
		return Inventory{}, &ParseError{File: file, Msg: strings.TrimPrefix(err.Error(), file+":")}
	}
	if mf.Module == nil {
		return Inventory{}, parseErrorf(file, "no module directive: not a go.mod file")
	}
	var inv Inventory
	inv.Main = &Component{Ref: mf.Module.Mod.Path, Ecosystem: vulndb.EcosystemGo, Name: mf.Module.Mod.Path,
		PURL: PURLFor(vulndb.EcosystemGo, mf.Module.Mod.Path, ""), Sources: []Location{{File: file, Line: line(mf.Module.Syntax)}}}
	sums := parseGoSum(gosum)
	if gosum == nil {
		inv.Warnings = append(inv.Warnings, file+": no go.sum beside it: components carry no checksums")
	}
	for _, req := range mf.Require {
		path, version := req.Mod.Path, req.Mod.Version
		at := Location{File: file, Line: line(req.Syntax)}
		var note string
		if r := replacement(mf.Replace, path, version); r != nil {
			if r.New.Version == "" {
				// A directory replacement: the code is local, unversioned.
				note = "replaced by the local directory " + r.New.Path
				c := newComponent(vulndb.EcosystemGo, path, version, at)
				c.Note = note
				inv.Components = append(inv.Components, c)
				continue
			}
			path, version = r.New.Path, r.New.Version
		}
		c := newComponent(vulndb.EcosystemGo, path, version, at)
		c.Hash = sums[path+" "+version]
		inv.Components = append(inv.Components, c)
	}
	if goVersion == "" {
		switch {
		case mf.Toolchain != nil:
			goVersion = mf.Toolchain.Name
		case mf.Go != nil:
			goVersion = "go" + mf.Go.Version
		}
	}
	if goVersion != "" {
		at := Location{File: file}
		switch {
		case mf.Toolchain != nil:
			at.Line = line(mf.Toolchain.Syntax)
		case mf.Go != nil:
			at.Line = line(mf.Go.Syntax)
		}
		comps, err := goPseudoModules(goVersion, at)
		if err != nil {
			return Inventory{}, &ParseError{File: file, Msg: err.Error()}
		}
		inv.Components = append(inv.Components, comps...)
	}
	return inv, nil
}

func line(s *modfile.Line) int {
	if s == nil {
		return 0
	}
	return s.Start.Line
}

// replacement returns the replace directive that applies to path@version:
// one for that exact version wins over one for every version.
func replacement(replaces []*modfile.Replace, path, version string) *modfile.Replace {
	var any *modfile.Replace
	for _, r := range replaces {
		if r.Old.Path != path {
			continue
		}
		if r.Old.Version == version {
			return r
		}
		if r.Old.Version == "" {
			any = r
		}
	}
	return any
}

// parseGoSum maps "path version" to the h1: checksum of the module's
// content (not of its go.mod).
func parseGoSum(data []byte) map[string]string {
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || strings.HasSuffix(f[1], "/go.mod") {
			continue
		}
		sums[f[0]+" "+f[1]] = f[2]
	}
	return sums
}

// goPseudoModules are the stdlib and toolchain components of a Go release.
func goPseudoModules(goVersion string, at Location) ([]Component, error) {
	tag := strings.Fields(goVersion)[0]
	if !strings.HasPrefix(tag, "go") {
		tag = "go" + tag
	}
	if vulndb.GoTagToSemver(tag) == "" {
		return nil, fmt.Errorf("Go version %q is not a Go release such as go1.22.5", goVersion)
	}
	var out []Component
	for _, name := range []string{vulndb.ModuleStdlib, vulndb.ModuleToolchain} {
		out = append(out, newComponent(vulndb.EcosystemGo, name, tag, at))
	}
	return out, nil
}

// GoBinary reads the build information a Go binary carries: its main
// module, every module linked in (replacements applied) and the Go
// release that built it, as stdlib and toolchain.
func GoBinary(file string, r io.ReaderAt) (Inventory, error) {
	bi, err := buildinfo.Read(r)
	if err != nil {
		return Inventory{}, parseErrorf(file, "no Go build information: %v", err)
	}
	at := Location{File: file}
	var inv Inventory
	inv.Main = &Component{Ref: bi.Main.Path, Ecosystem: vulndb.EcosystemGo, Name: bi.Main.Path,
		Version: bi.Main.Version, Sources: []Location{at}}
	if bi.Main.Path != "" {
		inv.Main.PURL = PURLFor(vulndb.EcosystemGo, bi.Main.Path, bi.Main.Version)
	} else {
		inv.Main.Name, inv.Main.Ref = bi.Path, bi.Path
	}
	for _, dep := range bi.Deps {
		path, version, sum := dep.Path, dep.Version, dep.Sum
		var note string
		if dep.Replace != nil {
			if dep.Replace.Version == "" {
				note = "replaced by the local directory " + dep.Replace.Path
			} else {
				path, version, sum = dep.Replace.Path, dep.Replace.Version, dep.Replace.Sum
			}
		}
		c := newComponent(vulndb.EcosystemGo, path, version, at)
		c.Hash, c.Note = sum, note
		inv.Components = append(inv.Components, c)
	}
	comps, err := goPseudoModules(bi.GoVersion, at)
	if err != nil {
		inv.Warnings = append(inv.Warnings, fmt.Sprintf("%s: %v: stdlib not checked", file, err))
	} else {
		inv.Components = append(inv.Components, comps...)
	}
	return inv, nil
}

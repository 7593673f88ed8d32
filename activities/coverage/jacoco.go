package coverage

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"path"
	"strconv"
)

// addJaCoCo reads a JaCoCo XML report (Gradle's and Maven's jacoco
// plugins, the Android Gradle plugin): the <line nr mi ci mb cb> of every
// <sourcefile> inside a <package>. A line is covered when any of its
// instructions is (ci > 0); its branches are mb + cb, cb of them covered.
// The report's DOCTYPE names a DTD that is never fetched.
func (r *Report) addJaCoCo(name string, src *bufio.Reader) error {
	dec := xml.NewDecoder(src)
	dec.Strict = true
	pkg := ""
	var cur *sourceFile
	return walkXML(name, dec, "report", "JaCoCo", func(el xml.StartElement) error {
		switch el.Name.Local {
		case "package":
			pkg = attr(el, "name")
		case "sourcefile":
			file := attr(el, "name")
			if file == "" {
				return errors.New("<sourcefile> without a name attribute")
			}
			cur = r.file(KindLines, r.displayPath(path.Join(pkg, file)))
		case "line":
			if cur == nil {
				return nil // <line> only means something inside a <sourcefile>
			}
			return addJaCoCoLine(cur, el)
		}
		return nil
	}, func(el xml.EndElement) {
		switch el.Name.Local {
		case "sourcefile":
			cur = nil
		case "package":
			pkg = ""
		}
	})
}

func addJaCoCoLine(f *sourceFile, el xml.StartElement) error {
	nr, err := strconv.Atoi(attr(el, "nr"))
	if err != nil || nr < 0 {
		return fmt.Errorf("<line> nr %q is not a non-negative integer", attr(el, "nr"))
	}
	count := func(a string) (int, error) {
		v := attr(el, a)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("<line nr=\"%d\"> %s %q is not a non-negative integer", nr, a, v)
		}
		return n, nil
	}
	ci, err := count("ci")
	if err != nil {
		return err
	}
	mb, err := count("mb")
	if err != nil {
		return err
	}
	cb, err := count("cb")
	if err != nil {
		return err
	}
	if f.lines == nil {
		f.lines = map[int]bool{}
	}
	f.lines[nr] = f.lines[nr] || ci > 0
	if mb+cb > 0 {
		if f.conditions == nil {
			f.conditions = map[int]Counts{}
		}
		prev := f.conditions[nr]
		f.conditions[nr] = Counts{Covered: max(prev.Covered, cb), Total: max(prev.Total, mb+cb)}
	}
	return nil
}

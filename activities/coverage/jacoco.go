package coverage

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
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
	fail := func(format string, args ...any) error {
		line, _ := dec.InputPos()
		return &ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	sawRoot := false
	pkg := ""
	var cur *sourceFile
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var syntax *xml.SyntaxError
			if errors.As(err, &syntax) {
				return &ParseError{File: name, Line: syntax.Line, Msg: "invalid XML: " + syntax.Msg}
			}
			return fail("read XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if !sawRoot {
				if el.Name.Local != "report" {
					return fail("root element is <%s>, want <report> in a JaCoCo report", el.Name.Local)
				}
				sawRoot = true
				continue
			}
			switch el.Name.Local {
			case "package":
				pkg = attr(el, "name")
			case "sourcefile":
				file := attr(el, "name")
				if file == "" {
					return fail("<sourcefile> without a name attribute")
				}
				cur = r.file(KindLines, r.displayPath(path.Join(pkg, file)))
			case "line":
				if cur == nil {
					continue // <line> only means something inside a <sourcefile>
				}
				if err := addJaCoCoLine(cur, el); err != nil {
					return fail("%v", err)
				}
			}
		case xml.EndElement:
			switch el.Name.Local {
			case "sourcefile":
				cur = nil
			case "package":
				pkg = ""
			}
		}
	}
	if !sawRoot {
		return &ParseError{File: name, Msg: "no <report> element: not a JaCoCo report"}
	}
	return nil
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

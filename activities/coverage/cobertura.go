package coverage

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// addCobertura reads a Cobertura XML report (coverage.py, gcovr,
// cobertura, istanbul's cobertura reporter…). Every <line> inside a
// <class> counts: lines merge by the class's filename and the line number,
// so a line listed under both a method and its class counts once. Branches
// come from condition-coverage="50% (1/2)" on lines with branch="true".
func (r *Report) addCobertura(name string, src *bufio.Reader) error {
	var cur *sourceFile // the enclosing <class>'s file
	return walkXML(name, xml.NewDecoder(src), "coverage", "Cobertura", func(el xml.StartElement) error {
		switch el.Name.Local {
		case "class":
			file := attr(el, "filename")
			if file == "" {
				return errors.New("<class> without a filename attribute")
			}
			cur = r.file(KindLines, r.displayPath(file))
		case "line":
			if cur == nil {
				return errors.New("<line> outside a <class>")
			}
			return addCoberturaLine(cur, el)
		}
		return nil
	}, func(el xml.EndElement) {
		if el.Name.Local == "class" {
			cur = nil
		}
	})
}

func addCoberturaLine(f *sourceFile, el xml.StartElement) error {
	number, err := strconv.Atoi(attr(el, "number"))
	if err != nil || number < 0 {
		return fmt.Errorf("<line> number %q is not a non-negative integer", attr(el, "number"))
	}
	hits, err := strconv.ParseFloat(attr(el, "hits"), 64)
	if err != nil {
		return fmt.Errorf("<line number=\"%d\"> hits %q is not a number", number, attr(el, "hits"))
	}
	if f.lines == nil {
		f.lines = map[int]bool{}
	}
	f.lines[number] = f.lines[number] || hits > 0
	if attr(el, "branch") != "true" {
		return nil
	}
	cc := attr(el, "condition-coverage")
	if cc == "" {
		return nil // a branch line without counts: nothing to add
	}
	cond, err := parseConditionCoverage(cc)
	if err != nil {
		return fmt.Errorf("<line number=\"%d\"> condition-coverage %q: %v", number, cc, err)
	}
	if f.conditions == nil {
		f.conditions = map[int]Counts{}
	}
	prev := f.conditions[number]
	f.conditions[number] = Counts{Covered: max(prev.Covered, cond.Covered), Total: max(prev.Total, cond.Total)}
	return nil
}

// parseConditionCoverage reads "50% (1/2)".
func parseConditionCoverage(s string) (Counts, error) {
	open := strings.IndexByte(s, '(')
	end := strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return Counts{}, errors.New(`want "<percent>% (<covered>/<total>)"`)
	}
	covered, total, ok := strings.Cut(s[open+1:end], "/")
	c, err1 := strconv.Atoi(strings.TrimSpace(covered))
	t, err2 := strconv.Atoi(strings.TrimSpace(total))
	if !ok || err1 != nil || err2 != nil || c < 0 || t < c {
		return Counts{}, errors.New(`want "<percent>% (<covered>/<total>)" with covered <= total`)
	}
	return Counts{Covered: c, Total: t}, nil
}

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

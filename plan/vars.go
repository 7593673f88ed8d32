package plan

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// varNameRE is the rule for var names, as written in ${vars.NAME}.
var varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

const varNameRule = "use letters, digits, _ and -, starting with a letter or _"

// refSyntax ends every message about a malformed reference.
const refSyntax = "write ${vars.NAME}, or $${ for a literal ${"

// ParseSets turns --set arguments of the form vars.NAME=value into the
// overrides Parse takes (NAME → value). A later --set of the same var
// wins. Arguments of any other form are errors that name them.
func ParseSets(sets []string) (map[string]string, error) {
	out := make(map[string]string, len(sets))
	var errs []error
	for _, set := range sets {
		key, value, hasValue := strings.Cut(set, "=")
		name, isVar := strings.CutPrefix(strings.TrimSpace(key), "vars.")
		switch {
		case !hasValue || !isVar:
			errs = append(errs, fmt.Errorf("--set %q: want vars.NAME=value", set))
		case !varNameRE.MatchString(name):
			errs = append(errs, fmt.Errorf("--set %q: invalid var name %q: %s", set, name, varNameRule))
		default:
			out[name] = value
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// declareVars reads spec.vars (n may be nil), applies the overrides and
// keeps the result for substitute. It returns the vars for Spec.Vars.
func (d *decoder) declareVars(n *yaml.Node, overrides map[string]string) map[string]string {
	d.vars = map[string]string{}
	d.brokenVars = map[string]bool{}
	entries, ok := d.entries(n, "vars", "a mapping of var names to values")
	if !ok {
		return nil // references cannot be checked: varsKnown stays false
	}
	d.varsKnown = true
	for _, e := range entries {
		name, path := e.key.Value, join("vars", e.key.Value)
		d.declared = append(d.declared, name)
		if !varNameRE.MatchString(name) {
			d.errorf(e.key, path, "invalid var name %q: %s", name, varNameRule)
			d.brokenVars[name] = true
			continue
		}
		text := ""
		if present(e.value) {
			var ok bool
			if text, ok = d.scalar(e.value, path, "a string, number or boolean"); !ok {
				d.brokenVars[name] = true
				continue
			}
		}
		value, problems, ok := expand(text, nil)
		for _, p := range problems {
			d.errorf(e.value, path, "%s", p)
		}
		if !ok {
			d.brokenVars[name] = true
			continue
		}
		d.vars[name] = value
	}
	names := make([]string, 0, len(overrides))
	for name := range overrides {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := join("vars", name)
		if !contains(d.declared, name) {
			if len(d.declared) == 0 {
				d.errorf(nil, path, "set with --set, but the plan declares no vars")
			} else {
				d.errorf(nil, path, "set with --set, but the plan declares no such var (declared: %s)", formatList(d.declared))
			}
			continue
		}
		value, problems, ok := expand(overrides[name], nil)
		for _, p := range problems {
			d.errorf(nil, path, "set with --set: %s", p)
		}
		if !ok {
			continue
		}
		d.vars[name] = value
		delete(d.brokenVars, name)
	}
	if len(d.vars) == 0 {
		return nil
	}
	out := make(map[string]string, len(d.vars))
	for k, v := range d.vars {
		out[k] = v
	}
	return out
}

// substitute resolves ${vars.NAME} in every scalar below n, in place,
// aliases included. Each node is resolved once, even when several aliases
// name it, so "$${" is never unescaped twice.
func (d *decoder) substitute(n *yaml.Node, path string) {
	d.substituteOnce(n, path, map[*yaml.Node]bool{})
}

func (d *decoder) substituteOnce(n *yaml.Node, path string, done map[*yaml.Node]bool) {
	if n == nil || done[n] {
		return
	}
	done[n] = true
	switch n.Kind {
	case yaml.AliasNode:
		d.substituteOnce(n.Alias, path, done)
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") || d.bad[n] {
			return
		}
		if !d.varsKnown {
			// spec.vars is broken and reported: a reference can be neither
			// checked nor read as text.
			if strings.Contains(n.Value, "${") {
				d.bad[n] = true
			}
			return
		}
		value, problems, ok := expand(n.Value, d.lookup)
		for _, p := range problems {
			d.errorf(n, path, "%s", p)
		}
		if !ok {
			d.bad[n] = true
			return
		}
		n.Value = value
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			// Keys too: a header name may come from a var.
			d.substituteOnce(n.Content[i], join(path, n.Content[i].Value), done)
			d.substituteOnce(n.Content[i+1], join(path, n.Content[i].Value), done)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.substituteOnce(c, index(path, i), done)
		}
	}
}

// lookup resolves a var for expand. A var that is declared but invalid has
// been reported already: it fails without a message.
func (d *decoder) lookup(name string) (value, problem string, ok bool) {
	if v, ok := d.vars[name]; ok {
		return v, "", true
	}
	if d.brokenVars[name] {
		return "", "", false
	}
	if len(d.declared) == 0 {
		return "", fmt.Sprintf("undefined var %q (the plan declares no vars)", name), false
	}
	return "", fmt.Sprintf("undefined var %q (declared: %s)", name, formatList(d.declared)), false
}

// expand replaces every ${vars.NAME} in s by the var's value; $${ stands for
// a literal ${. With a nil lookup no reference is allowed (vars may not
// refer to vars). Values are inserted as they are, never expanded again.
// ok is false when a reference could not be resolved.
func expand(s string, lookup func(string) (string, string, bool)) (_ string, problems []string, ok bool) {
	if !strings.Contains(s, "$") {
		return s, nil, true
	}
	ok = true
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "$${"):
			b.WriteString("${")
			s = s[3:]
		case strings.HasPrefix(s, "${"):
			end := strings.IndexByte(s, '}')
			if end < 0 {
				problems = append(problems, fmt.Sprintf("unterminated %q: %s", "${", refSyntax))
				return b.String() + s, problems, false
			}
			ref := s[:end+1]
			s = s[end+1:]
			name, isVar := strings.CutPrefix(ref[2:len(ref)-1], "vars.")
			switch {
			case !isVar || !varNameRE.MatchString(name):
				ok = false
				problems = append(problems, fmt.Sprintf("unknown reference %q: %s", ref, refSyntax))
			case lookup == nil:
				ok = false
				problems = append(problems, fmt.Sprintf("vars may not refer to other vars (%s); write $${ for a literal ${", ref))
			default:
				value, problem, found := lookup(name)
				if !found {
					ok = false
					if problem != "" {
						problems = append(problems, problem)
					}
					continue
				}
				b.WriteString(value)
			}
		default:
			b.WriteByte('$')
			s = s[1:]
		}
	}
	return b.String(), problems, ok
}

package plan

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
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
	d.substituteOnce(n, path, d.substituted)
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
		if !d.varsKnown || d.tooLarge {
			// spec.vars is broken, or the plan grew too large with them
			// (reported): a reference can be neither checked nor read
			// as text.
			if strings.Contains(n.Value, "${") {
				d.bad[n] = true
			}
			return
		}
		used := false
		value, problems, ok := expand(n.Value, func(name string) (string, string, bool) {
			used = true
			return d.lookupWithin(name)
		})
		for _, p := range problems {
			d.errorf(n, path, "%s", p)
		}
		if !ok {
			d.bad[n] = true
			return
		}
		if used {
			d.fromVars[n] = true
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
			d.substituteOnce(c, d.at(path, c, i), done)
		}
	}
}

// checkSize reports a plan that its aliases make larger than maxSize, once
// its vars are substituted: an alias repeats what it names, vars
// included. It returns false when the plan should not be decoded further.
func (d *decoder) checkSize(n *yaml.Node, path string) bool {
	if d.tooLarge {
		return false
	}
	sizes := map[*yaml.Node]int{}
	var size func(n *yaml.Node) int
	size = func(n *yaml.Node) int {
		if n == nil {
			return 0
		}
		if s, seen := sizes[n]; seen {
			return s
		}
		sizes[n] = 0 // checkAliases has refused cycles
		total := len(n.Value)
		children := n.Content
		if n.Kind == yaml.AliasNode {
			children, total = []*yaml.Node{n.Alias}, 0
		}
		for _, c := range children {
			total = min(total+size(c), d.maxSize+1)
		}
		sizes[n] = total
		return total
	}
	if size(n) <= d.maxSize {
		return true
	}
	d.tooLarge = true
	at := largestAlias(sizes)
	d.errorf(at, path, "aliases repeat values so often that the plan grows beyond %s with its vars (the larger of 10 MiB and 10 times the file)", formatSize(d.maxSize))
	return false
}

// largestAlias returns the alias among sizes that expands to the most,
// the first in the file of those that expand to as much; nil if there is
// none.
func largestAlias(sizes map[*yaml.Node]int) *yaml.Node {
	var best *yaml.Node
	for n, s := range sizes {
		if n.Kind != yaml.AliasNode {
			continue
		}
		switch b := sizes[best]; {
		case best == nil, s > b:
			best = n
		case s == b && (n.Line < best.Line || n.Line == best.Line && n.Column < best.Column):
			best = n
		}
	}
	return best
}

// maxExpandedSize is how large a plan of fileSize bytes may grow when its
// vars are substituted: a var referenced many times must not make
// validation run out of memory.
func maxExpandedSize(fileSize int) int { return max(10<<20, 10*fileSize) }

// lookupWithin is lookup for substitute: it counts what each reference adds
// to the plan, and fails once the plan grows beyond maxSize. The reference
// that passes the bound is reported; later ones are not.
func (d *decoder) lookupWithin(name string) (value, problem string, ok bool) {
	if d.tooLarge {
		return "", "", false
	}
	value, problem, ok = d.lookup(name)
	if !ok {
		return value, problem, ok
	}
	d.size += len(value) - len("${vars."+name+"}")
	if d.size > d.maxSize {
		d.tooLarge = true
		return "", fmt.Sprintf("var %q (%d bytes) is referenced so often that the plan grows beyond %s with its vars (the larger of 10 MiB and 10 times the file): refer to large values fewer times", name, len(value), formatSize(d.maxSize)), false
	}
	return value, "", true
}

// formatSize writes a number of bytes for a message: 10 MiB, 2.5 MiB,
// 300 KiB, 12 B.
func formatSize(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(math.Round(float64(n)/(1<<20)*10)/10, 'f', -1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(math.Round(float64(n)/(1<<10)*10)/10, 'f', -1, 64) + " KiB"
	}
	return strconv.Itoa(n) + " B"
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
			case lookup != nil && laterRef(ref):
				// ${params.…} and ${matrix.…} are resolved when templates
				// and matrices are expanded, after vars.
				b.WriteString(ref)
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

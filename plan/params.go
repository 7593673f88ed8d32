package plan

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// params validates a mapping of parameters (a task's with, or the fields
// of an object parameter) against their declarations, fills in defaults
// and normalises every value to a JSON type. at is where a missing
// required parameter is reported when n is absent; kind is "parameter" or
// "field".
func (d *decoder) params(n, at *yaml.Node, path string, decl []Param, kind string) (map[string]any, bool) {
	names := make([]string, len(decl))
	for i, p := range decl {
		names[i] = p.Name
	}
	want := "a mapping of " + kind + "s"
	if kind == "field" {
		want = "an object with fields " + formatList(names)
	}
	entries, ok := d.entries(n, path, want)
	if !ok {
		return nil, false
	}
	if present(n) {
		at = deref(n)
	}
	given := make(map[string]*yaml.Node, len(entries))
	for _, e := range entries {
		if !contains(names, e.key.Value) {
			d.errorf(e.key, path, "unknown %s %q (want %s)", kind, e.key.Value, formatList(names))
			continue
		}
		given[e.key.Value] = e.value
	}
	out := make(map[string]any, len(decl))
	ok = true
	for _, p := range decl {
		v, isGiven := given[p.Name]
		if !isGiven || !present(v) {
			switch {
			case p.Required && d.incomplete[deref(at)]:
				ok = false
			case p.Required && isGiven:
				d.errorf(v, join(path, p.Name), "required")
				ok = false
			case p.Required:
				d.errorf(at, join(path, p.Name), "required")
				ok = false
			case p.Default != nil:
				out[p.Name] = normalise(p.Default)
			}
			continue
		}
		value, valid := d.value(v, join(path, p.Name), p)
		if !valid {
			ok = false
			continue
		}
		out[p.Name] = value
	}
	return out, ok
}

// value checks one parameter value against its declaration and returns it
// normalised. A value with a Safety rule is kept for checkSafety.
func (d *decoder) value(n *yaml.Node, path string, p Param) (any, bool) {
	v, ok := d.typedValue(n, path, p)
	if ok && p.Safety != "" {
		d.guards = append(d.guards, guarded{safety: p.Safety, node: deref(n), path: path, value: v})
	}
	return v, ok
}

func (d *decoder) typedValue(n *yaml.Node, path string, p Param) (any, bool) {
	n = deref(n)
	if d.bad[n] {
		return nil, false
	}
	switch p.Type {
	case TypeString:
		s, ok := d.str(n, path)
		if !ok || !d.inEnum(n, path, s, p.Enum) {
			return nil, false
		}
		return s, true
	case TypeInt:
		v, ok := d.integer(n, path)
		return float64(v), ok
	case TypeNumber:
		return d.number(n, path)
	case TypeBool:
		return d.boolean(n, path)
	case TypeDuration:
		_, text, ok := d.duration(n, path)
		return text, ok
	case TypeBytes:
		text, ok := d.scalar(n, path, "a size such as 512KB or 10MiB")
		if !ok {
			return nil, false
		}
		text = strings.TrimSpace(text)
		if _, err := ParseBytes(text); err != nil {
			d.errorf(n, path, "%s", err)
			return nil, false
		}
		return text, true
	case TypeRate:
		text, ok := d.scalar(n, path, "a rate such as 500/s")
		if !ok {
			return nil, false
		}
		if _, err := ParseRate(text); err != nil {
			d.errorf(n, path, "%s", err)
			return nil, false
		}
		return strings.TrimSpace(text), true
	case TypeStringList:
		if n.Kind == yaml.ScalarNode && !isNull(n) {
			d.errorf(n, path, "must be a list of strings, got %s: write a one-item list, [%s]", describe(n), n.Value)
			return nil, false
		}
		items, ok := d.list(n, path, "a list of strings")
		if !ok {
			return nil, false
		}
		out := make([]any, 0, len(items))
		for i, item := range items {
			s, valid := d.str(item, index(path, i))
			if !valid || !d.inEnum(item, index(path, i), s, p.Enum) {
				ok = false
				continue
			}
			out = append(out, s)
		}
		return out, ok
	case TypeStringMap:
		entries, ok := d.entries(n, path, "a mapping of strings")
		if !ok {
			return nil, false
		}
		out := make(map[string]any, len(entries))
		for _, e := range entries {
			s, valid := d.str(e.value, join(path, e.key.Value))
			if !valid {
				ok = false
				continue
			}
			out[e.key.Value] = s
		}
		return out, ok
	case TypeObject:
		return d.params(n, n, path, p.Fields, "field")
	case TypeObjectList:
		items, ok := d.list(n, path, "a list of objects")
		if !ok {
			return nil, false
		}
		out := make([]any, 0, len(items))
		for i, item := range items {
			if isNull(item) {
				d.errorf(item, index(path, i), "must be an object, got null")
				ok = false
				continue
			}
			obj, valid := d.params(item, item, index(path, i), p.Fields, "field")
			if !valid {
				ok = false
				continue
			}
			out = append(out, obj)
		}
		return out, ok
	}
	d.errorf(n, path, "parameter type %q is not supported (the task type declares it wrongly)", p.Type)
	return nil, false
}

// list reads a sequence node's items, aliases resolved.
func (d *decoder) list(n *yaml.Node, path, want string) ([]*yaml.Node, bool) {
	n = deref(n)
	if n == nil || d.bad[n] {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "must be %s, got %s", want, describe(n))
		return nil, false
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, deref(c))
	}
	return out, true
}

func (d *decoder) inEnum(n *yaml.Node, path, s string, enum []string) bool {
	if len(enum) == 0 || contains(enum, s) {
		return true
	}
	d.errorf(deref(n), path, "must be one of %s, got %s", strings.Join(enum, ", "), short(s))
	return false
}

// normalise turns a declared default into the JSON type a parsed value of
// the same parameter has, as a fresh copy: numbers become float64, slices
// []any, maps map[string]any, durations their text.
func normalise(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string, bool, float64:
		return x
	case time.Duration:
		return formatDuration(x)
	case Duration:
		return formatDuration(x.Std())
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalise(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			out[fmt.Sprint(iter.Key().Interface())] = normalise(iter.Value().Interface())
		}
		return out
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return normalise(rv.Elem().Interface())
	}
	return v
}

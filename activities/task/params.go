package task

import "time"

// Params are a task's parameters as the plan validated them. Accessors
// return the zero value for a missing parameter; the plan has already
// checked types and filled in defaults.
type Params map[string]any

// String returns a string parameter.
func (p Params) String(name string) string {
	s, _ := p[name].(string)
	return s
}

// Bool returns a boolean parameter.
func (p Params) Bool(name string) bool {
	b, _ := p[name].(bool)
	return b
}

// Number returns a numeric parameter.
func (p Params) Number(name string) float64 {
	switch v := p[name].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	}
	return 0
}

// Int returns an integer parameter.
func (p Params) Int(name string) int { return int(p.Number(name)) }

// Duration returns a duration parameter ("30s").
func (p Params) Duration(name string) time.Duration {
	d, _ := time.ParseDuration(p.String(name))
	return d
}

// Strings returns a list-of-strings parameter.
func (p Params) Strings(name string) []string {
	switch v := p[name].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// StringMap returns a map-of-strings parameter.
func (p Params) StringMap(name string) map[string]string {
	switch v := p[name].(type) {
	case map[string]string:
		return v
	case map[string]any:
		out := make(map[string]string, len(v))
		for k, e := range v {
			if s, ok := e.(string); ok {
				out[k] = s
			}
		}
		return out
	}
	return nil
}

// Objects returns a list-of-objects parameter, each as Params.
func (p Params) Objects(name string) []Params {
	list, _ := p[name].([]any)
	out := make([]Params, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, Params(m))
		}
	}
	return out
}

// Object returns an object parameter as Params.
func (p Params) Object(name string) Params {
	m, _ := p[name].(map[string]any)
	return Params(m)
}

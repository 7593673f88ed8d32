package plan

// Parse decodes, validates and resolves a plan from data; file names the
// source in error messages. An invalid plan returns Errors.
func Parse(file string, data []byte, catalog Catalog, overrides map[string]string) (*Plan, error) {
	panic("TODO: implemented by the plan parser")
}

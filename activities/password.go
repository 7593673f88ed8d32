package activities

import "github.com/shipshape-dev/shipshape/internal/password"

// defaultAlphabet and generate are internal/password's, for the restore
// drills still in this package.
const defaultAlphabet = password.DefaultAlphabet

func generate(n int, alphabet string) ([]byte, error) { return password.Generate(n, alphabet) }

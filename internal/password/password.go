// Package password draws random passwords: for rotated roles and for the
// databases restore drills make.
package password

import (
	"crypto/rand"
	"math/big"
)

// DefaultAlphabet is the characters a password is drawn from when none
// are given: letters and digits without the ones easily confused (I, O,
// l, 0, 1).
const DefaultAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// Generate draws n characters (32 when n <= 0) uniformly from alphabet
// (DefaultAlphabet when empty), with crypto/rand.
func Generate(n int, alphabet string) ([]byte, error) {
	if n <= 0 {
		n = 32
	}
	if alphabet == "" {
		alphabet = DefaultAlphabet
	}
	chars := []rune(alphabet)
	out := make([]rune, n)
	for i := range out {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		if err != nil {
			return nil, err
		}
		out[i] = chars[k.Int64()]
	}
	return []byte(string(out)), nil
}

package postgres

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// SCRAM parameters of the secrets SCRAMSecret makes: PostgreSQL's
// defaults (scram_iterations, a 16-byte salt).
const (
	SCRAMIterations = 4096
	scramSaltLen    = 16
)

// SCRAMSecret returns password's SCRAM-SHA-256 secret as PostgreSQL
// stores it in pg_authid (RFC 5802, RFC 7677):
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, with a random
// salt. Giving a role this secret instead of the password (as psql's
// \password does) keeps the password off the wire and out of the server's
// log, where ALTER ROLE ... PASSWORD 'cleartext' lands with log_statement
// = ddl or when the statement fails.
func SCRAMSecret(password string) (string, error) {
	salt := make([]byte, scramSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("scram salt: %w", err)
	}
	return SCRAMSecretWith(password, salt, SCRAMIterations)
}

// SCRAMSecretWith is SCRAMSecret with a given salt and iteration count.
func SCRAMSecretWith(password string, salt []byte, iterations int) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, saslPrep(password), salt, iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("scram: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return "SCRAM-SHA-256$" + strconv.Itoa(iterations) + ":" + b64(salt) + "$" + b64(storedKey[:]) + ":" + b64(serverKey), nil
}

// SetPasswordStatement is the ALTER ROLE statement that gives role
// password, as a SCRAM-SHA-256 secret computed here: the statement holds
// no password, so the server can log it.
func SetPasswordStatement(role, password string) (string, error) {
	secret, err := SCRAMSecret(password)
	if err != nil {
		return "", err
	}
	// Utility statements take no parameters; the secret is base64, '$'
	// and ':' only, but quote it as a literal all the same.
	return "ALTER ROLE " + pgx.Identifier{role}.Sanitize() + " PASSWORD '" + strings.ReplaceAll(secret, "'", "''") + "'", nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// saslPrep normalizes a password as PostgreSQL's pg_saslprep does
// before it derives a SCRAM secret (RFC 4013), so the secret made here is
// the one the server would make from the same password and libpq
// clients log in with it. Like the server it uses the password as it is
// when it is ASCII (the common case: ASCII needs no normalization), not
// valid UTF-8, or not allowed by SASLprep. Two approximations: the
// Unicode tables are Go's, not Unicode 3.2's, so a character assigned
// since counts as assigned; a rotation's test step, which logs in with
// the new password, catches a disagreement before the rotation finishes.
func saslPrep(password string) string {
	ascii := true
	for i := 0; i < len(password); i++ {
		if password[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii || !utf8.ValidString(password) {
		return password
	}
	// Mapping (RFC 3454 B.1 to nothing, C.1.2 to a space), then NFKC.
	var mapped strings.Builder
	for _, r := range password {
		switch {
		case mappedToNothing(r):
		case nonASCIISpace(r):
			mapped.WriteRune(' ')
		default:
			mapped.WriteRune(r)
		}
	}
	out := norm.NFKC.String(mapped.String())
	if out == "" {
		return password
	}
	randAL, l := false, false
	for _, r := range out {
		if prohibited(r) || !assigned(r) {
			return password
		}
		switch c := bidiClass(r); c {
		case bidi.R, bidi.AL:
			randAL = true
		case bidi.L:
			l = true
		}
	}
	if randAL {
		first, _ := utf8.DecodeRuneInString(out)
		last, _ := utf8.DecodeLastRuneInString(out)
		if l || !isRandAL(first) || !isRandAL(last) {
			return password
		}
	}
	return out
}

func bidiClass(r rune) bidi.Class {
	p, _ := bidi.LookupRune(r)
	return p.Class()
}

func isRandAL(r rune) bool { c := bidiClass(r); return c == bidi.R || c == bidi.AL }

// mappedToNothing is RFC 3454's table B.1.
func mappedToNothing(r rune) bool {
	switch {
	case r == 0x00AD, r == 0x034F, r == 0x1806, r >= 0x180B && r <= 0x180D, r >= 0x200B && r <= 0x200D,
		r == 0x2060, r >= 0xFE00 && r <= 0xFE0F, r == 0xFEFF:
		return true
	}
	return false
}

// nonASCIISpace is RFC 3454's table C.1.2.
func nonASCIISpace(r rune) bool {
	switch {
	case r == 0x00A0, r == 0x1680, r >= 0x2000 && r <= 0x200B, r == 0x202F, r == 0x205F, r == 0x3000:
		return true
	}
	return false
}

// prohibited is SASLprep's prohibited output (RFC 4013 2.3): RFC 3454's
// tables C.1.2 and C.2.1 to C.9.
func prohibited(r rune) bool {
	switch {
	case nonASCIISpace(r): // C.1.2
	case r < 0x20, r == 0x7F: // C.2.1
	case r >= 0x80 && r <= 0x9F, r == 0x06DD, r == 0x070F, r == 0x180E, r == 0x200C, r == 0x200D, r == 0x2028, r == 0x2029,
		r >= 0x2060 && r <= 0x2063, r >= 0x206A && r <= 0x206F, r == 0xFEFF, r >= 0xFFF9 && r <= 0xFFFC, r >= 0x1D173 && r <= 0x1D17A: // C.2.2
	case r >= 0xE000 && r <= 0xF8FF, r >= 0xF0000 && r <= 0xFFFFD, r >= 0x100000 && r <= 0x10FFFD: // C.3
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE: // C.4
	case r >= 0xD800 && r <= 0xDFFF: // C.5
	case r == 0xFFFD: // C.6 (FFF9 to FFFC are in C.2.2)
	case r >= 0x2FF0 && r <= 0x2FFB: // C.7
	case r == 0x0340, r == 0x0341, r == 0x200E, r == 0x200F, r >= 0x202A && r <= 0x202E: // C.8
	case r == 0xE0001, r >= 0xE0020 && r <= 0xE007F: // C.9
	default:
		return false
	}
	return true
}

// assigned says whether r is an assigned code point (SASLprep prohibits
// unassigned ones, RFC 3454 A.1).
func assigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

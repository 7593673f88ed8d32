// Package secretstore holds what the stores rotated secrets live in
// share: the staging model of AWS Secrets Manager (a secret has versions,
// and the labels current, pending and previous each sit on at most one
// version), its errors, and the references plans name secrets by
// (local://NAME, aws-sm://REGION/NAME, azkv://VAULT/NAME). The stores are
// one package per system: local (a directory of encrypted files for a
// single host), awssm (AWS Secrets Manager) and azkv (Azure Key Vault).
// This package links no vendor SDK.
package secretstore

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Stages of a version.
const (
	Current  = "current"
	Pending  = "pending"
	Previous = "previous"
)

// Errors, for errors.Is.
var (
	ErrNotFound      = errors.New("secret not found")
	ErrTokenConflict = errors.New("the request token was used with another value")
)

// Version describes one version of a secret (without its value).
type Version struct {
	ID      string    `json:"id"`
	Stages  []string  `json:"stages,omitempty"`
	Created time.Time `json:"created"`
}

// Schemes of secret references.
const (
	SchemeLocal    = "local"
	SchemeAWS      = "aws-sm"
	SchemeKeyVault = "azkv"
)

// Ref is a parsed secret reference. Region is the AWS region of an
// aws-sm reference, the vault of an azkv one, empty for local.
type Ref struct {
	Scheme, Region, Name string
}

// String is the reference as plans write it.
func (r Ref) String() string {
	if r.Region != "" {
		return r.Scheme + "://" + r.Region + "/" + r.Name
	}
	return r.Scheme + "://" + r.Name
}

// ParseRef reads local://NAME, aws-sm://REGION/NAME or azkv://VAULT/NAME.
func ParseRef(s string) (Ref, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return Ref{}, fmt.Errorf("want a secret reference such as local://NAME, got %q", s)
	}
	switch u.Scheme {
	case SchemeLocal:
		name := u.Host + u.Path
		if name == "" || strings.Contains(name, "/") {
			return Ref{}, fmt.Errorf("local secret reference %q: want local://NAME", s)
		}
		return Ref{Scheme: SchemeLocal, Name: name}, nil
	case SchemeAWS:
		name := strings.TrimPrefix(u.Path, "/")
		if !awsRegion.MatchString(u.Host) || name == "" || u.RawQuery != "" {
			return Ref{}, fmt.Errorf("AWS Secrets Manager reference %q: want aws-sm://REGION/NAME (aws-sm://eu-west-1/prod/app-db)", s)
		}
		return Ref{Scheme: SchemeAWS, Region: u.Host, Name: name}, nil
	case SchemeKeyVault:
		name := strings.TrimPrefix(u.Path, "/")
		if !kvVault.MatchString(u.Host) || !kvName.MatchString(name) || u.RawQuery != "" {
			return Ref{}, fmt.Errorf("Azure Key Vault reference %q: want azkv://VAULT/NAME, NAME of letters, digits and dashes (azkv://acme-prod/app-db)", s)
		}
		return Ref{Scheme: SchemeKeyVault, Region: u.Host, Name: name}, nil
	}
	return Ref{}, fmt.Errorf("unknown secret store %q in %q (want local://NAME, aws-sm://REGION/NAME or azkv://VAULT/NAME)", u.Scheme, s)
}

// Key Vault names: a vault (or its host name, for other clouds) and a
// secret.
var (
	kvVault = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9](\.[a-z0-9.-]+)?$`)
	kvName  = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)
)

// awsRegion is the shape of an AWS region name (us-east-1, us-gov-west-1).
var awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)

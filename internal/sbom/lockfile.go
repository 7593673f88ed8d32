package sbom

import (
	"bytes"
	"path/filepath"
	"strings"
)

// NpmLockfile reads any npm-ecosystem lockfile: package-lock.json (and
// npm-shrinkwrap.json), yarn.lock (Yarn 1 or 2+) or pnpm-lock.yaml,
// recognised by its file name, else by its content.
func NpmLockfile(file string, data []byte) (Inventory, error) {
	switch base := strings.ToLower(filepath.Base(file)); {
	case base == "yarn.lock":
		return YarnLock(file, data)
	case base == "pnpm-lock.yaml" || base == "pnpm-lock.yml":
		return PnpmLock(file, data)
	case strings.HasSuffix(base, ".json"):
		return NpmLock(file, data)
	}
	head := bytes.TrimSpace(data[:min(len(data), 4096)])
	switch {
	case bytes.HasPrefix(head, []byte("{")):
		return NpmLock(file, data)
	case bytes.Contains(head, []byte("yarn lockfile v1")) || bytes.Contains(head, []byte("__metadata:")):
		return YarnLock(file, data)
	case bytes.Contains(head, []byte("lockfileVersion:")):
		return PnpmLock(file, data)
	}
	return Inventory{}, parseErrorf(file, "neither a package-lock.json, a yarn.lock nor a pnpm-lock.yaml (by its name or its content)")
}

// PythonLockfile reads any Python lockfile: a pip requirements file
// (requirements*.txt, *.in), poetry.lock, Pipfile.lock or uv.lock,
// recognised by its file name, else by its content.
func PythonLockfile(file string, data []byte) (Inventory, error) {
	switch base := strings.ToLower(filepath.Base(file)); {
	case base == "poetry.lock":
		return PoetryLock(file, data)
	case base == "pipfile.lock":
		return PipfileLock(file, data)
	case base == "uv.lock":
		return UVLock(file, data)
	case strings.HasSuffix(base, ".txt") || strings.HasSuffix(base, ".in"):
		return Requirements(file, data)
	}
	head := bytes.TrimSpace(data[:min(len(data), 4096)])
	switch {
	case bytes.HasPrefix(head, []byte("{")):
		return PipfileLock(file, data)
	case bytes.Contains(data, []byte("[[package]]")) && bytes.Contains(data, []byte("content-hash")):
		return PoetryLock(file, data)
	case bytes.Contains(data, []byte("[[package]]")):
		return UVLock(file, data)
	}
	return Requirements(file, data)
}

package vulndb

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// DefaultCacheSize is how many databases a Cache made with size 0 keeps.
const DefaultCacheSize = 4

// DefaultRecheck is how often a Cache compares every file of a database
// with what it indexed; in between, directory modification times tell.
const DefaultRecheck = time.Minute

// Cache keeps indexed databases for the life of a worker, so that only
// the first scan against a database reads and parses it. An index is
// reused while the database is unchanged and rebuilt when a file is
// added, removed or renamed (seen at once, from directory modification
// times) or rewritten in place (seen within Recheck, from every file's
// size and modification time). Concurrent scans of one database wait for
// a single load. It is safe for concurrent use.
type Cache struct {
	// Recheck is how often every file's Fingerprint is compared; 0
	// compares on every Get.
	Recheck time.Duration

	size int
	load func(ctx context.Context, path string) (*Index, error)

	mu      sync.Mutex
	entries map[string]*cacheEntry
	clock   int64
}

type cacheEntry struct {
	quick       string    // quickFingerprint when last checked
	checked     time.Time // when fingerprint was last compared
	fingerprint string
	done        chan struct{} // closed when index or err is set
	index       *Index
	err         error
	loadedIn    time.Duration
	used        int64
}

// NewCache returns a cache that keeps up to size databases (0:
// DefaultCacheSize), dropping the least recently used.
func NewCache(size int) *Cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	return &Cache{Recheck: DefaultRecheck, size: size, load: Load, entries: map[string]*cacheEntry{}}
}

// Lookup says how Get found an index.
type Lookup struct {
	// Cached is true when the index was already loaded.
	Cached bool
	// LoadTime is how long loading the index took, when it was loaded.
	LoadTime time.Duration
}

// Get returns the index of the database at path, loading it on first use
// or when it changed since.
func (c *Cache) Get(ctx context.Context, path string) (*Index, Lookup, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, Lookup{}, err
	}
	quick, err := quickFingerprint(abs)
	if err != nil {
		// Load explains a missing database best.
		if _, lerr := c.load(ctx, abs); lerr != nil {
			return nil, Lookup{}, lerr
		}
		return nil, Lookup{}, fmt.Errorf("read advisory database %s: %w", abs, err)
	}
	c.mu.Lock()
	e, ok := c.entries[abs]
	fresh := ok && e.quick == quick && time.Since(e.checked) < c.Recheck
	c.mu.Unlock()
	var fp string
	if !fresh {
		if fp, err = Fingerprint(abs); err != nil {
			return nil, Lookup{}, fmt.Errorf("read advisory database %s: %w", abs, err)
		}
	}

	c.mu.Lock()
	c.clock++
	e, ok = c.entries[abs]
	if ok && (fresh || e.fingerprint == fp) {
		e.used = c.clock
		if !fresh {
			e.quick, e.checked = quick, time.Now()
		}
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, Lookup{}, ctx.Err()
		}
		if e.err != nil {
			return nil, Lookup{}, e.err
		}
		return e.index, Lookup{Cached: true, LoadTime: e.loadedIn}, nil
	}
	e = &cacheEntry{quick: quick, checked: time.Now(), fingerprint: fp, done: make(chan struct{}), used: c.clock}
	c.entries[abs] = e
	c.evictLocked()
	c.mu.Unlock()

	// The load runs on its own context: a cancelled scan must not leave a
	// failed entry behind for the scans waiting on it.
	start := time.Now()
	e.index, e.err = c.load(context.WithoutCancel(ctx), abs)
	e.loadedIn = time.Since(start)
	close(e.done)
	if e.err != nil {
		c.mu.Lock()
		if c.entries[abs] == e {
			delete(c.entries, abs)
		}
		c.mu.Unlock()
		return nil, Lookup{}, e.err
	}
	return e.index, Lookup{LoadTime: e.loadedIn}, nil
}

// evictLocked drops the least recently used databases beyond the size.
func (c *Cache) evictLocked() {
	for len(c.entries) > c.size {
		var oldest string
		var used int64 = -1
		for k, e := range c.entries {
			if used < 0 || e.used < used {
				oldest, used = k, e.used
			}
		}
		delete(c.entries, oldest)
	}
}

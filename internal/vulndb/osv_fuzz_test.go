package vulndb_test

import (
	"testing"

	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

// FuzzOSV: an OSV record of any shape — an impossible range (introduced
// after fixed), versions that do not parse, a missing ecosystem — parses
// or is refused, and matching against it never crashes.
func FuzzOSV(f *testing.F) {
	f.Add([]byte(`{"id":"GO-2024-0001","aliases":["CVE-2024-1"],"affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]}]}`))
	f.Add([]byte(`{"id":"PYSEC-1","affected":[{"package":{"ecosystem":"PyPI","name":"Django"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"4.0"},{"fixed":"3.0"}]}],"versions":["4.0","4.0.1"]}],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`))
	f.Add([]byte(`{"id":"GHSA-x","affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"not-a-version"},{"last_affected":"4.17.20"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, ok, err := vulndb.ParseEntry(data)
		if err != nil || !ok {
			return
		}
		_ = vulndb.RateEntry(e)
		idx := vulndb.NewIndex([]*vulndb.Entry{e})
		for _, eco := range []string{"Go", "npm", "PyPI"} {
			for _, name := range []string{"example.com/m", "lodash", "Django", "django"} {
				for _, v := range []string{"0.0.1", "1.2.3", "v1.2.3", "4.0", "4.17.20", "3.0.0rc1", ""} {
					_ = idx.Match([]vulndb.Query{{Ecosystem: eco, Name: name, Version: v}})
				}
			}
		}
	})
}

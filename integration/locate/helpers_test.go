package locate_test

import (
	"testing"

	"github.com/tikvgo/tikvgo/locate"
)

// newCache returns a region cache over pd, failing the test on a bad option
// (a twin of the helper in the locate module's own tests).
func newCache(t testing.TB, pd locate.PD, opts ...locate.Option) *locate.Cache {
	t.Helper()
	c, err := locate.New(pd, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startUpkeep starts the cache's background upkeep, closed at cleanup.
func startUpkeep(t *testing.T, c *locate.Cache, opts ...locate.UpkeepOption) *locate.Upkeep {
	t.Helper()
	u, err := c.StartUpkeep(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u
}

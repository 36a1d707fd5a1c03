package kvrpc_test

import (
	"testing"

	"github.com/tikvgo/tikvgo/kvrpc"
)

// newClient returns a kvrpc client closed at cleanup (the module's own tests
// keep a twin of this helper; the two packages cannot share test files).
func newClient(t testing.TB, opts ...kvrpc.Option) *kvrpc.Client {
	t.Helper()
	c, err := kvrpc.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

package rawkv_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// BenchmarkClient measures Get, Put, BatchGet(100) and Scan(100) against a
// one-store tikvsim cluster, with 1 and 128 concurrent callers.
func BenchmarkClient(b *testing.B) {
	e := startEnv(b, tikvsim.Options{Stores: 1, Replicas: 1})
	ctx := b.Context()
	keys := make([][]byte, 100)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "bench-%03d", i)
	}
	if err := e.cli.BatchPut(ctx, keys, keys); err != nil {
		b.Fatal(err)
	}
	ops := []struct {
		name string
		fn   func(c *rawkv.Client) error
	}{
		{"Get", func(c *rawkv.Client) error { _, err := c.Get(ctx, keys[7]); return err }},
		{"Put", func(c *rawkv.Client) error { return c.Put(ctx, keys[9], keys[9]) }},
		{"BatchGet100", func(c *rawkv.Client) error {
			vs, err := c.BatchGet(ctx, keys)
			if err == nil && vs[99] == nil {
				err = fmt.Errorf("missing value")
			}
			return err
		}},
		{"Scan100", func(c *rawkv.Client) error {
			kvs, err := c.Scan(ctx, keys[0], nil, 100)
			if err == nil && len(kvs) != 100 {
				err = fmt.Errorf("scan returned %d", len(kvs))
			}
			return err
		}},
	}
	for _, op := range ops {
		b.Run(op.name+"/conc=1", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := op.fn(e.cli); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(op.name+"/conc=128", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(max(1, 128/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := op.fn(e.cli); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

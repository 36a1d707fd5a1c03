package tso_test

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkGetTS measures GetTS against the in-test fake PD with 1, 64 and
// 1024 concurrent callers.
func BenchmarkGetTS(b *testing.B) {
	for _, callers := range []int{1, 64, 1024} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			p := newFakePD(b, 1)
			c := newTSOForBench(b, p)
			defer c.Close()
			ctx := b.Context()
			b.ReportAllocs()
			if callers == 1 {
				for b.Loop() {
					if _, err := c.GetTS(ctx); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.GetTS(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

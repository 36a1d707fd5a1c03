package latches_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tikvgo/tikvgo/latches"
)

var benchKeyCounts = []int{1, 4, 16, 64}

func benchKeys(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s/row/%08d", prefix, i)
	}
	return out
}

// BenchmarkAcquireRelease measures one transaction at a time: the path every
// optimistic commit pays when latches are enabled and nothing conflicts.
func BenchmarkAcquireRelease(b *testing.B) {
	for _, n := range benchKeyCounts {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			l, err := latches.New()
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			ks := benchKeys("t", n)
			ctx := b.Context()
			var ts uint64
			b.ReportAllocs()
			for b.Loop() {
				ts += 2
				lock, err := l.Acquire(ctx, ts, ks)
				if err != nil {
					b.Fatal(err)
				}
				l.Release(lock, ts+1)
			}
		})
	}
}

// BenchmarkAcquireReleaseParallel runs transactions from every P. "hot" makes
// all of them write the same keys, so they queue on each other and many turn
// out stale; "disjoint" gives each goroutine its own keys, so they meet only
// on slot mutexes and hash collisions.
func BenchmarkAcquireReleaseParallel(b *testing.B) {
	for _, mode := range []string{"hot", "disjoint"} {
		for _, n := range benchKeyCounts {
			b.Run(fmt.Sprintf("%s/keys=%d", mode, n), func(b *testing.B) {
				l, err := latches.New()
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				var clock, worker atomic.Uint64
				ctx := b.Context()
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					prefix := "hot"
					if mode == "disjoint" {
						prefix = fmt.Sprintf("w%d", worker.Add(1))
					}
					ks := benchKeys(prefix, n)
					for pb.Next() {
						lock, err := l.Acquire(ctx, clock.Add(1), ks)
						if errors.Is(err, latches.ErrStale) {
							continue
						}
						if err != nil {
							b.Error(err)
							return
						}
						l.Release(lock, clock.Add(1))
					}
				})
			})
		}
	}
}

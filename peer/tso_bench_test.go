package peer

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	pd "github.com/tikv/pd/client"

	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
)

// tsSource is what both clients offer for the comparison.
type tsSource func(ctx context.Context) error

// BenchmarkTSO compares tikvgo's tso client with the PD Go client that
// client-go v2.0.4 pins (github.com/tikv/pd/client 80f0d8ca4d07), side by
// side in one run against the same tikvsim PD, at 1, 64 and 1024 concurrent
// callers. It reports ops/s, p99 latency (µs) and allocs/op:
//
//	cd peer && GOWORK=off go test -run '^$' -bench BenchmarkTSO -benchtime 3s
func BenchmarkTSO(b *testing.B) {
	ctx := b.Context()
	sim, err := tikvsim.Start(ctx, tikvsim.Options{PDs: 1, Stores: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()

	ours, err := tso.New(ctx, sim.PDAddrs())
	if err != nil {
		b.Fatal(err)
	}
	defer ours.Close()
	theirs, err := pd.NewClientWithContext(ctx, sim.PDAddrs(), pd.SecurityOption{})
	if err != nil {
		b.Fatal(err)
	}
	defer theirs.Close()

	impls := []struct {
		name string
		get  tsSource
	}{
		{"tikvgo", func(ctx context.Context) error { _, err := ours.GetTS(ctx); return err }},
		{"pdclient-v2.0.4", func(ctx context.Context) error { _, _, err := theirs.GetTS(ctx); return err }},
	}
	// Warm both up (connections, HTTP/2 windows, pools) so that neither pays
	// for it inside its first sub-benchmark.
	for _, impl := range impls {
		for range 2000 {
			if err := impl.get(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, callers := range []int{1, 64, 1024} {
		for _, impl := range impls {
			b.Run(fmt.Sprintf("callers=%d/impl=%s", callers, impl.name), func(b *testing.B) {
				benchTSO(b, callers, impl.get)
			})
		}
	}
}

func benchTSO(b *testing.B, callers int, get tsSource) {
	ctx := b.Context()
	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	b.ReportAllocs()
	if callers == 1 {
		lat = make([]time.Duration, 0, 1<<16)
		for b.Loop() {
			t0 := time.Now()
			if err := get(ctx); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
	} else {
		b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			local := make([]time.Duration, 0, 1024)
			for pb.Next() {
				t0 := time.Now()
				if err := get(ctx); err != nil {
					b.Error(err)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

package peer

import (
	"context"
	"fmt"
	"math/bits"
	"os"
	"runtime"
	"sync/atomic"
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
// callers. It reports ops/s, p99 latency (µs), allocs/op and allocs/ts (the
// same count unrounded):
//
//	cd peer && for i in 1 2 3 4 5 6; do GOWORK=off go test -run '^$' -bench BenchmarkTSO -benchtime 1s -count 1 .; done
//
// (-count N repeats each sub-benchmark N times back to back, so a load
// spike on a shared machine lands on one client; the loop interleaves.)
//
// Both clients are measured the same way: the same latency recorder (a
// fixed-bucket histogram allocated before the timer starts, so recording
// allocates nothing), a fresh client per sub-benchmark with the same
// warm-up (2000 calls), the same GOMAXPROCS and a GC before every
// sub-benchmark. The order of the two clients alternates from one
// concurrency level to the next, so neither always runs on a warmer or
// cooler machine.
//
// The simulated PD runs in the benchmark's process by default, so allocs/op
// include the server's allocations (the same for both clients). To count
// the clients' allocations alone, run the PD in its own process and name it
// in PEER_TSO_PD:
//
//	go build -o /tmp/tikvsim-bin ./tikvsim/cmd/tikvsim
//	/tmp/tikvsim-bin -stores 1 -replicas 1 -admin '' # prints "PD 127.0.0.1:NNNN"
//	cd peer && PEER_TSO_PD=127.0.0.1:NNNN GOWORK=off go test -run '^$' -bench BenchmarkTSO
//
// An unreachable PEER_TSO_PD fails the benchmark; it never falls back.
func BenchmarkTSO(b *testing.B) {
	ctx := b.Context()
	var pdAddrs []string
	if addr := os.Getenv("PEER_TSO_PD"); addr != "" {
		pdAddrs = []string{addr}
	} else {
		pdAddrs = startSim(b, tikvsim.Options{PDs: 1, Stores: 1}).PDAddrs()
	}

	type impl struct {
		name string
		// open connects a fresh client and returns its GetTS and its Close.
		open func(ctx context.Context) (tsSource, func(), error)
	}
	impls := []impl{
		{"tikvgo", func(ctx context.Context) (tsSource, func(), error) {
			c, err := tso.New(ctx, pdAddrs)
			if err != nil {
				return nil, nil, err
			}
			return func(ctx context.Context) error { _, err := c.GetTS(ctx); return err }, func() { _ = c.Close() }, nil
		}},
		{"pdclient-v2.0.4", func(ctx context.Context) (tsSource, func(), error) {
			c, err := pd.NewClientWithContext(ctx, pdAddrs, pd.SecurityOption{})
			if err != nil {
				return nil, nil, err
			}
			return func(ctx context.Context) error { _, _, err := c.GetTS(ctx); return err }, c.Close, nil
		}},
	}
	for i, callers := range []int{1, 64, 1024} {
		order := impls
		if i%2 == 1 {
			order = []impl{impls[1], impls[0]}
		}
		for _, im := range order {
			b.Run(fmt.Sprintf("callers=%d/impl=%s", callers, im.name), func(b *testing.B) {
				// A fresh client per sub-benchmark: no state (or a wedged
				// dispatcher, which v2.0.4's client has shown after a
				// minute under load) carries from one run into the next.
				dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				get, closeFn, err := im.open(dialCtx)
				if err != nil {
					b.Fatal(err)
				}
				defer closeFn()
				// Warm up (connection, HTTP/2 windows, pools) before the
				// timer starts.
				for range 2000 {
					if err := get(dialCtx); err != nil {
						b.Fatalf("warm-up: %v", err)
					}
				}
				benchTSO(b, callers, get)
			})
		}
	}
}

func benchTSO(b *testing.B, callers int, get tsSource) {
	ctx := b.Context()
	// One histogram per caller, allocated before the timer starts.
	hists := make([]latencyHist, callers)
	var (
		failed   atomic.Int64
		firstErr atomic.Pointer[error]
	)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	if callers == 1 {
		h := &hists[0]
		for b.Loop() {
			t0 := time.Now()
			if err := get(ctx); err != nil {
				b.Fatal(err)
			}
			h.record(time.Since(t0))
		}
	} else {
		// RunParallel starts parallelism*GOMAXPROCS goroutines.
		procs := runtime.GOMAXPROCS(0)
		if callers%procs != 0 {
			b.Fatalf("callers=%d is not a multiple of GOMAXPROCS=%d", callers, procs)
		}
		b.SetParallelism(callers / procs)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			h := &hists[next.Add(1)-1]
			for pb.Next() {
				t0 := time.Now()
				err := get(ctx)
				// A failed call still cost its caller this long.
				h.record(time.Since(t0))
				if err != nil {
					failed.Add(1)
					// Copy before taking the address so that only a
					// failure allocates.
					e := err
					firstErr.CompareAndSwap(nil, &e)
				}
			}
		})
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	// allocs/op is truncated to an integer; at 64 and 1024 callers both
	// clients allocate less than once per timestamp, so report the
	// fraction too.
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/ts")
	if n := failed.Load(); n > 0 {
		// Reported rather than fatal, so one client's timeouts under load
		// don't hide the other's numbers; any failure shows in the output.
		b.ReportMetric(float64(n), "errors")
		b.Logf("%d calls failed, first: %v", n, *firstErr.Load())
	}
	var all latencyHist
	for i := range hists {
		all.merge(&hists[i])
	}
	if all.n == 0 {
		return
	}
	b.ReportMetric(float64(all.quantile(0.99).Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// latencyHist is a log-linear latency histogram: 64 buckets per power of
// two, so a reported quantile is within 1/64 (1.6%) of the true value. It
// records without allocating; one goroutine owns each instance.
type latencyHist struct {
	n       uint64
	buckets [histExps * histSub]uint32
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histExps    = 40 - histSubBits + 1 // up to 2^40ns (18 minutes)
)

func histIndex(ns uint64) int {
	if ns < histSub {
		return int(ns)
	}
	exp := bits.Len64(ns) - histSubBits // >= 1
	if exp >= histExps {
		return len(latencyHist{}.buckets) - 1
	}
	return exp*histSub + int(ns>>(exp-1)) - histSub
}

// histLower is the smallest duration (ns) that lands in bucket i.
func histLower(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	exp, sub := i/histSub, i%histSub
	return uint64(histSub+sub) << (exp - 1)
}

func (h *latencyHist) record(d time.Duration) {
	h.n++
	h.buckets[histIndex(uint64(max(d, 0)))]++
}

func (h *latencyHist) merge(o *latencyHist) {
	h.n += o.n
	for i, c := range o.buckets {
		h.buckets[i] += c
	}
}

// quantile returns the upper bound of the bucket holding quantile q.
func (h *latencyHist) quantile(q float64) time.Duration {
	rank := uint64(q * float64(h.n))
	var seen uint64
	for i, c := range h.buckets {
		seen += uint64(c)
		if seen > rank {
			return time.Duration(histLower(i + 1))
		}
	}
	return time.Duration(histLower(len(h.buckets)))
}

func TestLatencyHistBuckets(t *testing.T) {
	for _, ns := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 123456, 1 << 30, 1<<40 - 1} {
		i := histIndex(ns)
		if lo, hi := histLower(i), histLower(i+1); ns < lo || ns >= hi {
			t.Errorf("%d ns -> bucket %d [%d, %d)", ns, i, lo, hi)
		}
		if i > 0 && histIndex(histLower(i)-1) != i-1 {
			t.Errorf("bucket %d: lower bound %d not adjacent to bucket %d", i, histLower(i), i-1)
		}
	}
	var h latencyHist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	got := h.quantile(0.99)
	if want := 990 * time.Microsecond; got < want || float64(got) > float64(want)*1.04 {
		t.Errorf("p99 of 1..1000µs = %v, want about %v", got, want)
	}
}

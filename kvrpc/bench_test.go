package kvrpc_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/tikvgo/tikvgo/kvrpc"
)

// BenchmarkSend compares the BatchCommands path with the unary path at 256
// concurrent requests against one in-process store on 127.0.0.1.
func BenchmarkSend(b *testing.B) {
	f := startStore(b, &fakeStore{}, nil)
	for _, mode := range []struct {
		name string
		opts []kvrpc.Option
	}{
		{"batch", nil},
		{"unary", []kvrpc.Option{kvrpc.WithMaxBatchSize(0)}},
	} {
		b.Run(fmt.Sprintf("%s/conc=256", mode.name), func(b *testing.B) {
			c := newClient(b, mode.opts...)
			var seq atomic.Int64
			b.ReportAllocs()
			// SetParallelism multiplies GOMAXPROCS; aim for ~256 goroutines.
			b.SetParallelism(max(1, 256/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				key := fmt.Sprintf("key-%d", seq.Add(1))
				for pb.Next() {
					if _, err := c.Send(b.Context(), f.addr, rawGet(key)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			if st := c.Stats(); st.BatchMessages > 0 {
				b.ReportMetric(float64(st.BatchedRequests)/float64(st.BatchMessages), "reqs/batch")
			}
		})
	}
}

// BenchmarkSendSerial is one caller at a time: the batch path must not add
// latency when there is nothing to batch.
func BenchmarkSendSerial(b *testing.B) {
	f := startStore(b, &fakeStore{}, nil)
	for _, mode := range []struct {
		name string
		opts []kvrpc.Option
	}{
		{"batch", nil},
		{"unary", []kvrpc.Option{kvrpc.WithMaxBatchSize(0)}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			c := newClient(b, mode.opts...)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Send(b.Context(), f.addr, rawGet("k")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

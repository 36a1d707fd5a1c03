package txnkv_test

import (
	"fmt"
	"testing"

	"github.com/tikvgo/tikvgo/txnkv"
)

// BenchmarkLargeWrite commits one large transaction per iteration, as
// plain 2PC and as a pipelined transaction (flushing every 64 KiB), and
// reports the peak bytes of keys and values each held in memory.
func BenchmarkLargeWrite(b *testing.B) {
	for _, keys := range []int{2000, 10000} {
		for _, mode := range []string{"2pc", "pipelined"} {
			b.Run(fmt.Sprintf("keys=%d/%s", keys, mode), func(b *testing.B) {
				e := pipeStart(b, []string{"pk005000"})
				var opts []txnkv.TxnOption
				if mode == "pipelined" {
					opts = append(opts, txnkv.WithPipelinedDML(txnkv.PipelinedFlushSize(64<<10), txnkv.PipelinedThrottleSize(256<<10)))
				}
				b.ReportAllocs()
				b.SetBytes(int64(keys * (len(pipeKey(0)) + pipeValueSize)))
				peak := 0
				for b.Loop() {
					txn, err := e.cli.Begin(b.Context(), opts...)
					if err != nil {
						b.Fatal(err)
					}
					for i := range keys {
						if err := txn.Set(pipeKey(i), pipeValue(i, pipeValueSize)); err != nil {
							b.Fatal(err)
						}
					}
					if mode == "pipelined" {
						peak = max(peak, txn.PipelinedStats().PeakBuffered)
					} else {
						peak = max(peak, txn.Size()) // the whole buffer is held until the commit
					}
					if err := txn.Commit(b.Context()); err != nil {
						b.Fatal(err)
					}
				}
				if err := e.cli.Committer().Drain(b.Context()); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(peak), "peak-buffer-B")
			})
		}
	}
}

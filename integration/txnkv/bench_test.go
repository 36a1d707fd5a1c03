package txnkv_test

import (
	"fmt"
	"testing"

	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/txnkv"
)

// The benchmarks below run the snapshot reads and a small optimistic
// transaction against an in-process tikvsim of one store and one region,
// the peer harness's cases in one process. They exist to be profiled
// (-cpuprofile, -memprofile: the client's allocation sites are the ones
// outside tikvsim); peer/cmd/compare is where throughput is compared.

func benchEnv(b *testing.B) (*env, [][]byte) {
	e := startSimEnv(b, tikvsim.Options{Stores: 1})
	ctx := testCtx(b)
	kv := make([]string, 0, 200)
	keys := make([][]byte, 100)
	for i := range keys {
		k := fmt.Sprintf("bench-read-%03d", i)
		keys[i] = []byte(k)
		kv = append(kv, k, string(make([]byte, 64)))
	}
	e.put(ctx, kv...)
	return e, keys
}

func BenchmarkSnapshotGet(b *testing.B) {
	e, keys := benchEnv(b)
	ctx := testCtx(b)
	first, err := e.cli.Snapshot(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		snap, err := e.cli.Snapshot(ctx, first.TS())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := snap.Get(ctx, keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkSnapshotBatchGet100(b *testing.B) {
	e, keys := benchEnv(b)
	ctx := testCtx(b)
	first, err := e.cli.Snapshot(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		snap, err := e.cli.Snapshot(ctx, first.TS())
		if err != nil {
			b.Fatal(err)
		}
		m, err := snap.BatchGet(ctx, keys)
		if err != nil || len(m) != len(keys) {
			b.Fatalf("%d pairs, %v", len(m), err)
		}
	}
}

func BenchmarkSnapshotScan100(b *testing.B) {
	e, keys := benchEnv(b)
	ctx := testCtx(b)
	first, err := e.cli.Snapshot(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	end := []byte("bench-read-100")
	b.ReportAllocs()
	for b.Loop() {
		snap, err := e.cli.Snapshot(ctx, first.TS())
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, err := range snap.Iter(ctx, keys[0], end) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != len(keys) {
			b.Fatalf("%d pairs", n)
		}
	}
}

func BenchmarkOptimisticTxn(b *testing.B) {
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("writes=%d", n), func(b *testing.B) {
			e, _ := benchEnv(b)
			ctx := testCtx(b)
			keys := make([][]byte, n)
			for i := range keys {
				keys[i] = fmt.Appendf(nil, "bench-write-%03d", i)
			}
			val := make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				txn, err := e.cli.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for _, k := range keys {
					if err := txn.Set(k, val); err != nil {
						b.Fatal(err)
					}
				}
				if err := txn.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPessimisticLock1(b *testing.B) {
	e, _ := benchEnv(b)
	ctx := testCtx(b)
	key := []byte("bench-lock-000")
	val := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		txn, err := e.cli.Begin(ctx, txnkv.WithPessimistic())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := txn.LockKeys(ctx, txnkv.LockOptions{}, key); err != nil {
			b.Fatal(err)
		}
		if err := txn.Set(key, val); err != nil {
			b.Fatal(err)
		}
		if err := txn.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

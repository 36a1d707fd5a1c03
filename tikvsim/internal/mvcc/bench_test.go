package mvcc_test

import (
	"fmt"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim/internal/mvcc"
)

// loaded returns an engine with n committed keys k%08d, each with two versions.
func loaded(b *testing.B, n int) *mvcc.Engine {
	b.Helper()
	e := newEngine(b)
	for _, v := range []uint64{10, 20} {
		muts := make([]*kvrpcpb.Mutation, 0, n)
		keys := make([][]byte, 0, n)
		for i := range n {
			k := fmt.Sprintf("k%08d", i)
			muts = append(muts, putMut(k, fmt.Sprintf("value-%d-%d", i, v)))
			keys = append(keys, []byte(k))
		}
		if r := e.KvPrewrite(b.Context(), &kvrpcpb.PrewriteRequest{Mutations: muts, PrimaryLock: keys[0], StartVersion: v, LockTtl: 100}); len(r.Errors) > 0 {
			b.Fatal(r.Errors)
		}
		if r := e.KvCommit(b.Context(), &kvrpcpb.CommitRequest{StartVersion: v, CommitVersion: v + 1, Keys: keys}); r.Error != nil {
			b.Fatal(r.Error)
		}
	}
	return e
}

func BenchmarkKvGet(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			e := loaded(b, n)
			req := &kvrpcpb.GetRequest{Key: []byte(fmt.Sprintf("k%08d", n/2)), Version: 100}
			b.ReportAllocs()
			for b.Loop() {
				if r := e.KvGet(b.Context(), req); r.NotFound {
					b.Fatal("not found")
				}
			}
		})
	}
}

func BenchmarkKvScan100(b *testing.B) {
	e := loaded(b, 10_000)
	req := &kvrpcpb.ScanRequest{StartKey: []byte("k00005000"), Limit: 100, Version: 100}
	b.ReportAllocs()
	for b.Loop() {
		if r := e.KvScan(b.Context(), req); len(r.Pairs) != 100 {
			b.Fatal(len(r.Pairs))
		}
	}
}

func BenchmarkKvPrewriteCommit(b *testing.B) {
	for _, size := range []int{1, 16} {
		b.Run(fmt.Sprintf("keys=%d", size), func(b *testing.B) {
			e := newEngine(b)
			keys := make([][]byte, size)
			muts := make([]*kvrpcpb.Mutation, size)
			for i := range keys {
				keys[i] = []byte(fmt.Sprintf("key-%04d", i))
				muts[i] = &kvrpcpb.Mutation{Op: kvrpcpb.Op_Put, Key: keys[i], Value: []byte("value")}
			}
			ts := uint64(10)
			b.ReportAllocs()
			for b.Loop() {
				pw := e.KvPrewrite(b.Context(), &kvrpcpb.PrewriteRequest{Mutations: muts, PrimaryLock: keys[0], StartVersion: ts, LockTtl: 100})
				if len(pw.Errors) > 0 {
					b.Fatal(pw.Errors)
				}
				if c := e.KvCommit(b.Context(), &kvrpcpb.CommitRequest{StartVersion: ts, CommitVersion: ts + 1, Keys: keys}); c.Error != nil {
					b.Fatal(c.Error)
				}
				ts += 2
				if ts%2000 == 0 {
					e.GC(ts - 1) // keep version chains short, as TiKV's GC would
				}
			}
		})
	}
}

func BenchmarkRawPutGet(b *testing.B) {
	e := newEngine(b)
	put := &kvrpcpb.RawPutRequest{Key: []byte("raw-key"), Value: []byte("raw-value")}
	get := &kvrpcpb.RawGetRequest{Key: []byte("raw-key")}
	b.Run("put", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.RawPut(b.Context(), put)
		}
	})
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r := e.RawGet(b.Context(), get); r.NotFound {
				b.Fatal("not found")
			}
		}
	})
}

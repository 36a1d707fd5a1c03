package txnkv_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/txnkv"
)

// pipeEnv is a tikvsim cluster with a transactional client on top, and a
// router to inspect locks with.
type pipeEnv struct {
	t      testing.TB
	sim    *tikvsim.Cluster
	router *locate.Router
	cli    *txnkv.Client
}

func pipeStart(t testing.TB, splits []string, opts ...txnkv.Option) *pipeEnv {
	t.Helper()
	var sk [][]byte
	for _, s := range splits {
		sk = append(sk, tikvsim.EncodeKey([]byte(s)))
	}
	sim, err := tikvsim.Start(t.Context(), tikvsim.Options{Stores: 3, SplitKeys: sk})
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	fast := retry.Backoff{Base: time.Millisecond, Max: 50 * time.Millisecond}
	pd, err := pdclient.New(ctx, sim.PDAddrs(), pdclient.WithBackoff(fast))
	if err != nil {
		t.Fatalf("pdclient.New: %v", err)
	}
	t.Cleanup(func() { _ = pd.Close() })
	rpc, err := kvrpc.New(kvrpc.WithDialTimeout(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rpc.Close() })
	cache, err := locate.New(pd)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tso.NewFromPD(ctx, pd, tso.WithBackoff(fast))
	if err != nil {
		t.Fatalf("tso: %v", err)
	}
	t.Cleanup(func() { _ = tc.Close() })
	cli, err := txnkv.NewWithCluster(txnkv.Cluster{GC: pd, Cache: cache, RPC: rpc, TSO: tc}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	codec, _ := keycodec.NewV1(keycodec.Txn)
	return &pipeEnv{t: t, sim: sim, router: locate.NewRouter(locate.NewSender(cache, rpc), codec), cli: cli}
}

// pipeKey is the i-th key of a test.
func pipeKey(i int) []byte { return fmt.Appendf(nil, "pk%06d", i) }

// pipeValue is the value of the i-th key, about size bytes.
func pipeValue(i, size int) []byte {
	v := fmt.Appendf(nil, "v%06d-", i)
	for len(v) < size {
		v = append(v, byte('a'+i%26))
	}
	return v
}

// locksOf returns the keys of every lock of the transaction startTS.
func (e *pipeEnv) locksOf(startTS tso.Timestamp) []string {
	e.t.Helper()
	var out []string
	err := e.router.WalkRange(e.t.Context(), retry.New(20*time.Second), nil, nil, func(ctx context.Context, bo *retry.Backoffer, s locate.Span) (bool, error) {
		resp, err := e.router.SendKey(ctx, bo, s.Start, kvrpc.NewScanLock(&kvrpcpb.ScanLockRequest{MaxVersion: ^uint64(0) >> 1, StartKey: s.Start, EndKey: s.End}))
		if err != nil {
			return false, err
		}
		for _, l := range resp.Message().(*kvrpcpb.ScanLockResponse).GetLocks() {
			if tso.Timestamp(l.GetLockVersion()) == startTS {
				out = append(out, string(l.GetKey()))
			}
		}
		return false, nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// readAll reads keys 0..n-1 in a fresh snapshot and checks each against
// want (nil: must be absent).
func (e *pipeEnv) readAll(n int, want func(i int) []byte) {
	e.t.Helper()
	snap, err := e.cli.Snapshot(e.t.Context(), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = pipeKey(i)
	}
	got, err := snap.BatchGet(e.t.Context(), keys)
	if err != nil {
		e.t.Fatalf("read back: %v", err)
	}
	bad := 0
	for i := range n {
		v, ok := got[string(pipeKey(i))]
		w := want(i)
		if (w == nil) == ok || (ok && string(v) != string(w)) {
			if bad < 5 {
				e.t.Errorf("key %q: got %q (present %v), want %q", pipeKey(i), v, ok, w)
			}
			bad++
		}
	}
	if bad > 0 {
		e.t.Fatalf("%d of %d keys read back wrong", bad, n)
	}
}

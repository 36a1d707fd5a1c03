package txnkv_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/integration/internal/simstack"
	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
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
	s := simstack.Start(t, tikvsim.Options{Stores: 3, SplitKeys: sk})
	cli, err := txnkv.NewWithCluster(txnkv.Cluster{GC: s.PD, Cache: s.Cache, RPC: s.RPC, TSO: s.TSO}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	codec, _ := keycodec.NewV1(keycodec.Txn)
	return &pipeEnv{t: t, sim: s.Sim, router: locate.NewRouter(s.Sender, codec), cli: cli}
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

package txnkv_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/integration/internal/simstack"
	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/txnkv"
)

// env is a tikvsim cluster with the shared stack and a txnkv client.
type env struct {
	t     testing.TB
	sim   *tikvsim.Cluster
	pd    *pdclient.Client
	cache *locate.Cache
	rpc   *kvrpc.Client
	tso   *tso.Client
	cli   *txnkv.Client
}

func startEnv(t testing.TB, splits []string, opts ...txnkv.Option) *env {
	t.Helper()
	var sk [][]byte
	for _, s := range splits {
		sk = append(sk, tikvsim.EncodeKey([]byte(s)))
	}
	return startSimEnv(t, tikvsim.Options{Stores: 3, SplitKeys: sk}, opts...)
}

// startSimEnv is startEnv on a cluster started with simOpts.
func startSimEnv(t testing.TB, simOpts tikvsim.Options, opts ...txnkv.Option) *env {
	t.Helper()
	s := simstack.Start(t, simOpts)
	e := &env{t: t, sim: s.Sim, pd: s.PD, cache: s.Cache, rpc: s.RPC, tso: s.TSO}
	e.cli = e.newClient(opts...)
	return e
}

// newClient returns another txnkv client over the same stack; it is closed
// at cleanup (before the stack, cleanups run last-in first-out).
func (e *env) newClient(opts ...txnkv.Option) *txnkv.Client {
	e.t.Helper()
	c, err := txnkv.NewWithCluster(txnkv.Cluster{GC: e.pd, Cache: e.cache, RPC: e.rpc, TSO: e.tso}, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

// count counts the requests of cmd the stores receive from now on.
func (e *env) count(cmd string) *atomic.Int64 {
	var n atomic.Int64
	remove := e.sim.OnRequest(func(_ uint64, c string) {
		if c == cmd {
			n.Add(1)
		}
	})
	e.t.Cleanup(remove)
	return &n
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// put commits pairs (k1, v1, k2, v2, ...) in one optimistic transaction.
func (e *env) put(ctx context.Context, kv ...string) *txnkv.Txn {
	e.t.Helper()
	txn, err := e.cli.Begin(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if err := txn.Set([]byte(kv[i]), []byte(kv[i+1])); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := txn.Commit(ctx); err != nil {
		e.t.Fatalf("commit: %v", err)
	}
	return txn
}

// mustGet reads key in a fresh transaction.
func (e *env) mustGet(ctx context.Context, key string) (string, bool) {
	e.t.Helper()
	txn, err := e.cli.Begin(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = txn.Rollback(ctx) }()
	v, err := txn.Get(ctx, []byte(key))
	if errors.Is(err, txnkv.ErrNotFound) {
		return "", false
	}
	if err != nil {
		e.t.Fatalf("get %q: %v", key, err)
	}
	return string(v), true
}

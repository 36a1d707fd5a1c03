// Package simstack wires tikvgo's lower layers (pdclient, kvrpc, locate,
// tso) to a tikvsim cluster, as the integration tests of twopc, txnkv and gc
// all need them, with a fast backoff so tests of failures stay short.
package simstack

import (
	"context"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
)

// FastBackoff is the PD and TSO backoff of a Stack: a millisecond base so a
// test that fails over does not wait out production backoffs.
var FastBackoff = retry.Backoff{Base: time.Millisecond, Max: 50 * time.Millisecond}

// Stack is one client's view of a cluster: everything in it is closed when
// the test that attached it ends.
type Stack struct {
	Sim    *tikvsim.Cluster
	PD     *pdclient.Client
	RPC    *kvrpc.Client
	Cache  *locate.Cache
	Sender *locate.Sender
	TSO    *tso.Client
}

// Start starts a tikvsim cluster with opts (closed at the end of the test)
// and attaches a Stack to it.
func Start(t testing.TB, opts tikvsim.Options) *Stack {
	t.Helper()
	sim, err := tikvsim.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return Attach(t, sim)
}

// Attach connects a new Stack to sim; connecting is bounded by 10 s.
func Attach(t testing.TB, sim *tikvsim.Cluster) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pd, err := pdclient.New(ctx, sim.PDAddrs(), pdclient.WithBackoff(FastBackoff))
	if err != nil {
		t.Fatalf("pdclient.New: %v", err)
	}
	t.Cleanup(func() { _ = pd.Close() })
	rpc, err := kvrpc.New(kvrpc.WithDialTimeout(10 * time.Second))
	if err != nil {
		t.Fatalf("kvrpc.New: %v", err)
	}
	t.Cleanup(func() { _ = rpc.Close() })
	cache, err := locate.New(pd)
	if err != nil {
		t.Fatalf("locate.New: %v", err)
	}
	tc, err := tso.NewFromPD(ctx, pd, tso.WithBackoff(FastBackoff))
	if err != nil {
		t.Fatalf("tso.NewFromPD: %v", err)
	}
	t.Cleanup(func() { _ = tc.Close() })
	return &Stack{Sim: sim, PD: pd, RPC: rpc, Cache: cache, Sender: locate.NewSender(cache, rpc), TSO: tc}
}

package rawkv_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// env is a tikvsim cluster and a raw client on top of it, with a counter of
// the requests stores received.
type env struct {
	sim   *tikvsim.Cluster
	cli   *rawkv.Client
	rpcs  atomic.Int64
	clock *fakeClock

	mu   sync.Mutex
	cmds []string
}

// fakeClock is a wall clock tests move by hand (TTL expiry without sleeps).
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// startEnv starts a cluster with opts and a client with copts; the api
// version option is derived from the cluster's.
func startEnv(t testing.TB, opts tikvsim.Options, copts ...rawkv.Option) *env {
	t.Helper()
	e := &env{clock: &fakeClock{}}
	if opts.Clock == nil {
		opts.Clock = e.clock.now
	}
	sim, err := tikvsim.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	e.sim = sim
	remove := sim.OnRequest(func(storeID uint64, cmd string) {
		if storeID == 0 {
			return
		}
		e.rpcs.Add(1)
		e.mu.Lock()
		e.cmds = append(e.cmds, cmd)
		e.mu.Unlock()
	})
	t.Cleanup(remove)
	e.cli = e.newClient(t, copts...)
	return e
}

func apiOf(opts tikvsim.Options) rawkv.APIVersion {
	switch opts.APIVersion {
	case kvrpcpb.APIVersion_V1TTL:
		return rawkv.V1TTL
	case kvrpcpb.APIVersion_V2:
		return rawkv.V2
	}
	return rawkv.V1
}

// newClient builds another client on the same cluster.
func (e *env) newClient(t testing.TB, copts ...rawkv.Option) *rawkv.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := []rawkv.Option{
		rawkv.WithPDOptions(pdclient.WithBackoff(retry.Backoff{Base: time.Millisecond, Max: 20 * time.Millisecond})),
	}
	cli, err := rawkv.New(ctx, e.sim.PDAddrs(), append(base, copts...)...)
	if err != nil {
		t.Fatalf("rawkv.New: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func b(s string) []byte { return []byte(s) }

package rawkv_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestNewWithCluster builds two raw clients (V2, two keyspaces) on one
// shared stack, as the tikv facade does, and checks that closing them leaves
// the shared parts working.
func TestNewWithCluster(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{APIVersion: kvrpcpb.APIVersion_V2, Keyspaces: []string{"a", "b"}}, rawkv.WithAPIVersion(rawkv.V2))
	ctx := ctxT(t)
	pd, err := pdclient.New(ctx, e.sim.PDAddrs())
	if err != nil {
		t.Fatal(err)
	}
	defer pd.Close()
	rpc, err := kvrpc.New()
	if err != nil {
		t.Fatal(err)
	}
	defer rpc.Close()
	cache, err := locate.New(pd)
	if err != nil {
		t.Fatal(err)
	}
	shared := rawkv.Cluster{PD: pd, Cache: cache, RPC: rpc}
	a, err := rawkv.NewWithCluster(ctx, shared, rawkv.WithAPIVersion(rawkv.V2), rawkv.WithKeyspace("a"))
	if err != nil {
		t.Fatal(err)
	}
	b2, err := rawkv.NewWithCluster(ctx, shared, rawkv.WithAPIVersion(rawkv.V2), rawkv.WithKeyspace("b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, b("k"), b("a")); err != nil {
		t.Fatal(err)
	}
	if err := b2.Put(ctx, b("k"), b("b")); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, b("k")); !errors.Is(err, rawkv.ErrClosed) {
		t.Fatalf("closed client: %v", err)
	}
	// The shared stack still serves the other client.
	if v, err := b2.Get(ctx, b("k")); err != nil || string(v) != "b" {
		t.Fatalf("b after closing a: %q, %v", v, err)
	}
	_ = b2.Close()

	if _, err := rawkv.NewWithCluster(ctx, rawkv.Cluster{}); !errors.Is(err, rawkv.ErrInvalidOption) {
		t.Fatalf("empty cluster: %v", err)
	}
	if _, err := rawkv.NewWithCluster(ctx, rawkv.Cluster{Cache: cache, RPC: rpc}, rawkv.WithAPIVersion(rawkv.V2)); !errors.Is(err, rawkv.ErrInvalidOption) {
		t.Fatalf("V2 without PD: %v", err)
	}
}

// TestParallelismBound counts the RPCs a batch has in flight through an
// interceptor: never more than WithParallelism, and the batch still returns
// every value in order.
func TestParallelismBound(t *testing.T) {
	t.Parallel()
	var split [][]byte
	for _, k := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		split = append(split, b(k))
	}
	e := startEnv(t, tikvsim.Options{SplitKeys: split})
	var inflight, peak atomic.Int64
	count := func(ctx context.Context, target string, req *kvrpc.Request, next kvrpc.Invoker) (*kvrpc.Response, error) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		defer inflight.Add(-1)
		return next(ctx, target, req)
	}
	cli := e.newClient(t, rawkv.WithParallelism(2), rawkv.WithBatchLimits(3, 1<<20),
		rawkv.WithRPCOptions(kvrpc.WithInterceptors(count)))
	ctx := ctxT(t)
	keys := keysN(120)
	if err := cli.BatchPut(ctx, keys, keys); err != nil {
		t.Fatal(err)
	}
	got, err := cli.BatchGet(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		if string(got[i]) != string(keys[i]) {
			t.Fatalf("BatchGet[%d] = %q, want %q", i, got[i], keys[i])
		}
	}
	if p := peak.Load(); p > 2 {
		t.Fatalf("%d RPCs in flight, bound is 2", p)
	}
	if n := e.count("RawBatchGet"); n < 40 {
		t.Fatalf("%d RawBatchGet requests; 120 keys at 3 per request need at least 40", n)
	}
}

// TestContextCancellation parks a request in the cluster and cancels the
// call: it returns promptly with the ctx error.
func TestContextCancellation(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{})
	arrived, release := holdFirst(t, e, "RawGet")
	defer release()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := e.cli.Get(ctx, b("k"))
		done <- err
	}()
	<-arrived
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Get after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Get ignored its cancelled ctx")
	}
}

// TestConcurrentSafeMixed runs every API at once from many goroutines.
func TestConcurrentSafeMixed(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{SplitKeys: [][]byte{b("g"), b("q")}})
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 16 {
		wg.Go(func() {
			keys := keysN(30)
			for i := range keys {
				keys[i] = append(keys[i], byte('A'+w))
			}
			for range 5 {
				if err := e.cli.BatchPut(ctx, keys, keys); err != nil {
					errs <- err
					return
				}
				vs, err := e.cli.BatchGet(ctx, keys)
				if err != nil {
					errs <- err
					return
				}
				for i := range vs {
					if string(vs[i]) != string(keys[i]) {
						errs <- errors.New("wrong value")
						return
					}
				}
				if _, err := e.cli.Scan(ctx, nil, nil, 100); err != nil {
					errs <- err
					return
				}
				if err := e.cli.BatchDelete(ctx, keys[:10]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestRequestTimeout parks the first attempt of a read on the leader: with
// WithRequestTimeout the attempt is abandoned and the read completes through
// another attempt, long before the call's own deadline.
func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{})
	ctx := ctxT(t)
	if err := e.cli.Put(ctx, b("k"), b("v")); err != nil {
		t.Fatal(err)
	}
	cli := e.newClient(t, rawkv.WithRequestTimeout(200*time.Millisecond))
	_, release := holdFirst(t, e, "RawGet")
	defer release()
	v, err := cli.Get(ctx, b("k"))
	if err != nil || string(v) != "v" {
		t.Fatalf("Get with a parked first attempt = %q, %v", v, err)
	}
	if n := e.count("RawGet"); n < 2 {
		t.Fatalf("%d RawGet attempts, want a retry after the timeout", n)
	}
}

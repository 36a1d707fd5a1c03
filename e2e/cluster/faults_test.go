package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/e2e/cluster"
	"github.com/tikvgo/tikvgo/tikvsim"
)

const allCaps = cluster.CapStopStore | cluster.CapRestartStore | cluster.CapChangePDLeader

// checkFaults drives every fault hook of a backend that supports them all
// and watches the effect over raw gRPC.
func checkFaults(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	if !c.Supports(allCaps) {
		t.Fatalf("%s backend supports %v, want every fault hook", c.Kind(), c.Supports(allCaps))
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	rc := newRawClient(t, c.PDAddrs())
	key := testKey(t, "fault")
	region, leader, addr := rc.regionFor(ctx, key)
	get := func(cc *grpc.ClientConn, opts ...grpc.CallOption) error {
		resp, err := tikvpb.NewTikvClient(cc).RawGet(ctx, &kvrpcpb.RawGetRequest{Context: kvContext(region, leader), Key: key}, opts...)
		if err == nil && resp.GetRegionError() != nil {
			t.Fatalf("RawGet on leader store %s: region error %v", addr, resp.GetRegionError())
		}
		return err
	}

	if err := c.StopStore(ctx, leader.GetStoreId()); err != nil {
		t.Fatalf("StopStore(%d): %v", leader.GetStoreId(), err)
	}
	if err := get(rc.conn(addr)); status.Code(err) != codes.Unavailable {
		t.Fatalf("RawGet on stopped store %s: %v, want Unavailable", addr, err)
	}
	if err := c.RestartStore(ctx, leader.GetStoreId()); err != nil {
		t.Fatalf("RestartStore(%d): %v", leader.GetStoreId(), err)
	}
	// A fresh connection, waiting for it to be ready: the store is back on
	// the same address.
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if err := get(cc, grpc.WaitForReady(true)); err != nil {
		t.Fatalf("RawGet on restarted store %s: %v", addr, err)
	}

	before := rc.members(ctx, c.PDAddrs()[0]).GetLeader().GetMemberId()
	if err := c.ChangePDLeader(ctx); err != nil {
		t.Fatalf("ChangePDLeader: %v", err)
	}
	for _, a := range c.PDAddrs() {
		if after := rc.members(ctx, a).GetLeader().GetMemberId(); after == before {
			t.Errorf("PD %s still reports leader %d after ChangePDLeader", a, after)
		}
	}

	if err := c.StopStore(ctx, 999); err == nil || errors.Is(err, cluster.ErrUnsupported) {
		t.Errorf("StopStore(999) = %v, want a no-such-store error", err)
	}
}

func TestSimFaultHooks(t *testing.T) {
	t.Parallel()
	c, err := cluster.Start(t.Context(), cluster.WithBackend(cluster.KindSim))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	checkFaults(t, c)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.StopStore(t.Context(), 1); !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("StopStore after Close = %v, want ErrClosed", err)
	}
}

// TestExternalOverSim attaches the external backend to a simulated cluster
// it did not start: it must pass readiness, refuse fault hooks, and leave the
// cluster running on Close.
func TestExternalOverSim(t *testing.T) {
	t.Parallel()
	sim, err := tikvsim.Start(t.Context(), tikvsim.Options{PDs: 2, Stores: 3})
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	defer sim.Close()

	c, err := cluster.Start(t.Context(), cluster.WithBackend(cluster.KindExternal), cluster.WithPDAddrs(sim.PDAddrs()...))
	if err != nil {
		t.Fatalf("Start external: %v", err)
	}
	checkCluster(t, c, 2, 3)
	if c.StoreAddrs() != nil {
		t.Errorf("external StoreAddrs() = %v, want nil (unknown)", c.StoreAddrs())
	}
	if c.Supports(cluster.CapStopStore) || c.Supports(cluster.CapRestartStore) || c.Supports(cluster.CapChangePDLeader) {
		t.Errorf("external backend claims fault hooks")
	}
	for name, err := range map[string]error{
		"StopStore":      c.StopStore(t.Context(), 1),
		"RestartStore":   c.RestartStore(t.Context(), 1),
		"ChangePDLeader": c.ChangePDLeader(t.Context()),
	} {
		if !errors.Is(err, cluster.ErrUnsupported) {
			t.Errorf("%s = %v, want ErrUnsupported", name, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close of an external cluster leaves it serving.
	newRawClient(t, sim.PDAddrs()).members(t.Context(), sim.PDAddrs()[1])
}

// TestConcurrentSafeCloseAndFaults races Close against fault hooks: every
// hook either runs before Close or reports ErrClosed, and Close runs once.
func TestConcurrentSafeCloseAndFaults(t *testing.T) {
	t.Parallel()
	c, err := cluster.Start(t.Context(), cluster.WithBackend(cluster.KindSim))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	const workers = 8
	errs := make(chan error, 2*workers)
	done := make(chan struct{})
	for i := range workers {
		go func() {
			<-done
			errs <- c.ChangePDLeader(t.Context())
			if i%2 == 0 {
				errs <- c.Close()
			} else {
				errs <- c.StopStore(t.Context(), uint64(1+i%3))
			}
		}()
	}
	close(done)
	for range 2 * workers {
		if err := <-errs; err != nil && !errors.Is(err, cluster.ErrClosed) {
			t.Errorf("concurrent hook or Close: %v", err)
		}
	}
	if err := c.Close(); err != nil {
		t.Errorf("final Close: %v", err)
	}
}

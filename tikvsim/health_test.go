package tikvsim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// probeTimeout bounds one health check that is expected to hang (a
// partitioned store); a stopped one fails at once.
const probeTimeout = 200 * time.Millisecond

// check runs one health Check on a fresh connection to addr, as a client's
// liveness probe does.
func check(t *testing.T, addr string, timeout time.Duration) (healthpb.HealthCheckResponse_ServingStatus, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(dial(t, addr)).Check(ctx, &healthpb.HealthCheckRequest{})
	return resp.GetStatus(), err
}

func wantServing(t *testing.T, what, addr string) {
	t.Helper()
	st, err := check(t, addr, testTimeout)
	if err != nil || st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("%s: Check = %v, %v; want SERVING", what, st, err)
	}
}

func wantUnreachable(t *testing.T, what, addr string, code codes.Code) {
	t.Helper()
	st, err := check(t, addr, probeTimeout)
	if err == nil {
		t.Fatalf("%s: Check = %v, want an error", what, st)
	}
	if got := status.Code(err); got != code {
		t.Fatalf("%s: Check error %v (code %v), want code %v", what, err, got, code)
	}
}

func TestHealthStoreStates(t *testing.T) {
	c := start(t, tikvsim.Options{})
	addr := c.Stores()[0].Addr
	id := c.Stores()[0].ID
	wantServing(t, "up", addr)

	// Stopped: the listener is closed, so the dial is refused and the
	// probe fails at once with Unavailable.
	if err := c.StopStore(id); err != nil {
		t.Fatal(err)
	}
	wantUnreachable(t, "stopped", addr, codes.Unavailable)
	if err := c.RestartStore(id); err != nil {
		t.Fatal(err)
	}
	wantServing(t, "restarted", addr)

	// Partitioned: connections work but nothing is answered, so the
	// probe runs into its own deadline.
	if err := c.PartitionStore(id); err != nil {
		t.Fatal(err)
	}
	wantUnreachable(t, "partitioned", addr, codes.DeadlineExceeded)
	if err := c.HealStore(id); err != nil {
		t.Fatal(err)
	}
	wantServing(t, "healed", addr)

	// The other stores were never affected.
	for _, s := range c.Stores()[1:] {
		wantServing(t, "other store", s.Addr)
	}
}

func TestHealthWatchSeesStop(t *testing.T) {
	c := start(t, tikvsim.Options{})
	s := c.Stores()[0]
	ctx := tctx(t)
	w, err := healthpb.NewHealthClient(dial(t, s.Addr)).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := w.Recv()
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first Watch answer = %v, %v; want SERVING", resp, err)
	}
	if err := c.StopStore(s.ID); err != nil {
		t.Fatal(err)
	}
	// The stream reports NOT_SERVING and then ends; either is a valid
	// first sign of the stop (the close may overtake the last message).
	for {
		resp, err := w.Recv()
		if err != nil {
			break
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("Watch after stop = %v, want NOT_SERVING", resp.GetStatus())
		}
	}
}

func TestHealthWatchPartitionedSendsNothing(t *testing.T) {
	c := start(t, tikvsim.Options{})
	s := c.Stores()[0]
	if err := c.PartitionStore(s.ID); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), probeTimeout)
	defer cancel()
	w, err := healthpb.NewHealthClient(dial(t, s.Addr)).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		var resp *healthpb.HealthCheckResponse
		resp, err = w.Recv()
		if err == nil {
			t.Fatalf("Watch on a partitioned store answered %v", resp)
		}
	}
	if status.Code(err) != codes.DeadlineExceeded && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Watch on a partitioned store: %v, want DeadlineExceeded", err)
	}
}

func TestHealthPDMembers(t *testing.T) {
	c := start(t, tikvsim.Options{PDs: 3})
	for _, addr := range c.PDAddrs() {
		wantServing(t, "pd up", addr)
	}
	addr := c.PDAddrs()[1]
	if err := c.StopPD(1); err != nil {
		t.Fatal(err)
	}
	wantUnreachable(t, "pd stopped", addr, codes.Unavailable)
	wantServing(t, "other pd", c.PDAddrs()[0])
	if err := c.RestartPD(1); err != nil {
		t.Fatal(err)
	}
	wantServing(t, "pd restarted", addr)
}

package kvrpc_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/tikvsim"
)

func TestCheckHealthFollowsStoreRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sim, err := tikvsim.Start(ctx, tikvsim.Options{Stores: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	// A reconnect backoff far longer than the test: only the probe's own
	// reset can bring the connection back in time.
	slow := grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: time.Hour, Multiplier: 1, MaxDelay: time.Hour},
		MinConnectTimeout: time.Second,
	})
	c, err := kvrpc.New(kvrpc.WithDialOptions(slow))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := sim.Stores()[0]
	if err := c.CheckHealth(ctx, st.Addr); err != nil {
		t.Fatalf("CheckHealth of a running store: %v", err)
	}
	if err := sim.StopStore(st.ID); err != nil {
		t.Fatal(err)
	}
	// The first failed probe may only find the old connection broken; the
	// second dials, is refused, and leaves the connection in gRPC's
	// reconnect backoff, where a plain request fails fast until it passes.
	for range 2 {
		pctx, pcancel := context.WithTimeout(ctx, 100*time.Millisecond)
		err := c.CheckHealth(pctx, st.Addr)
		pcancel()
		if err == nil {
			t.Fatal("CheckHealth of a stopped store succeeded")
		}
	}
	if err := sim.RestartStore(st.ID); err != nil {
		t.Fatal(err)
	}
	// The next probe cuts the backoff short and sees the store at once.
	pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer pcancel()
	if err := c.CheckHealth(pctx, st.Addr); err != nil {
		t.Fatalf("CheckHealth right after restart: %v", err)
	}
}

func TestCheckHealthNotServing(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	h := health.NewServer()
	h.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	defer func() {
		srv.Stop()
		<-done
	}()
	c, err := kvrpc.New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.CheckHealth(ctx, lis.Addr().String()); !errors.Is(err, kvrpc.ErrNotServing) {
		t.Fatalf("CheckHealth = %v, want ErrNotServing", err)
	}
	if err := c.CheckHealth(ctx, ""); !errors.Is(err, kvrpc.ErrInvalidRequest) {
		t.Fatalf("CheckHealth(\"\") = %v, want ErrInvalidRequest", err)
	}
	_ = c.Close()
	if err := c.CheckHealth(ctx, lis.Addr().String()); !errors.Is(err, kvrpc.ErrClosed) {
		t.Fatalf("CheckHealth after Close = %v, want ErrClosed", err)
	}
}

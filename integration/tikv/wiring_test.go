package tikv_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// recordHandler keeps the messages of every record logged through it.
type recordHandler struct {
	mu   *sync.Mutex
	msgs *[]string
}

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.msgs = append(*h.msgs, r.Message)
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

func TestLoggerReachesModules(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{})
	var (
		mu   sync.Mutex
		msgs []string
	)
	logger := slog.New(recordHandler{mu: &mu, msgs: &msgs})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := tikv.New(ctx, sim.PDAddrs(), tikv.WithLogger(logger))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Raw().Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(msgs, "\n")
	// The facade's own transitions and the raw client's, which only gets
	// the logger through the facade.
	for _, want := range []string{"tikv: client ready", "rawkv: client closed", "tikv: client closed"} {
		if !strings.Contains(all, want) {
			t.Errorf("log lacks %q:\n%s", want, all)
		}
	}
}

func TestDialOptionsReachPDAndStores(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{})
	var unary, streams atomic.Int64
	countUnary := grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		unary.Add(1)
		return invoker(ctx, method, req, reply, cc, opts...)
	})
	countStreams := grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if strings.Contains(method, "BatchCommands") {
			streams.Add(1)
		}
		return streamer(ctx, desc, cc, method, opts...)
	})
	c := newClient(t, sim, tikv.WithGRPCDialOptions(countUnary, countStreams))
	if err := c.Raw().Put(t.Context(), []byte("k"), []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	// PD discovery and region loading are unary PD calls; the Put travels
	// on a store's BatchCommands stream.
	if unary.Load() == 0 {
		t.Error("the dial options did not reach the PD connections")
	}
	if streams.Load() == 0 {
		t.Error("the dial options did not reach the store connections")
	}
}

func TestTLSIsUsed(t *testing.T) {
	t.Parallel()
	// tikvsim speaks plaintext, so a client that really uses TLS cannot
	// finish discovery.
	sim := startSim(t, tikvsim.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	c, err := tikv.New(ctx, sim.PDAddrs(), tikv.WithTLS(&tls.Config{MinVersion: tls.VersionTLS13}))
	if err == nil {
		_ = c.Close()
		t.Fatal("New with TLS against a plaintext cluster succeeded")
	}
}

func TestConcurrentSafeCallsDuringClose(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{})
	c := newClient(t, sim)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Go(func() {
			for j := range 4 {
				if _, err := c.CurrentTS(ctx); err != nil {
					errs <- err
				}
				if err := c.Raw().Put(ctx, []byte{byte('a' + i), byte('0' + j)}, []byte("v")); err != nil {
					errs <- err
				}
			}
		})
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	// Calls that lose the race with Close fail with ErrClosed, or, for a
	// request already in flight, with the transport failure Close caused;
	// none may hang or race.
	for err := range errs {
		if !errors.Is(err, tikv.ErrClosed) {
			t.Logf("call during Close: %v", err)
		}
	}
	if _, err := c.CurrentTS(ctx); !errors.Is(err, tikv.ErrClosed) {
		t.Fatalf("CurrentTS after Close = %v, want ErrClosed", err)
	}
}

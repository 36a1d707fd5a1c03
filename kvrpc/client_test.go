package kvrpc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/kvrpc"
)

func newClient(t testing.TB, opts ...kvrpc.Option) *kvrpc.Client {
	t.Helper()
	c, err := kvrpc.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func rawGet(key string) *kvrpc.Request {
	return kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{Key: []byte(key)})
}

func valueOf(t testing.TB, resp *kvrpc.Response) string {
	t.Helper()
	m, ok := resp.Message().(*kvrpcpb.RawGetResponse)
	if !ok {
		t.Fatalf("response is %T, want *kvrpcpb.RawGetResponse", resp.Message())
	}
	return string(m.Value)
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]kvrpc.Option{
		"zero connections":   kvrpc.WithConnectionCount(0),
		"negative batch":     kvrpc.WithMaxBatchSize(-1),
		"negative keepalive": kvrpc.WithKeepalive(-time.Second, time.Second),
		"nil logger":         kvrpc.WithLogger(nil),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := kvrpc.New(opt); !errors.Is(err, kvrpc.ErrInvalidOption) {
				t.Fatalf("New: %v, want ErrInvalidOption", err)
			}
		})
	}
}

func TestSendBatchedRoutesOutOfOrderResponses(t *testing.T) {
	t.Parallel()
	const n = 64
	var (
		mu   sync.Mutex
		held []*tikvpb.BatchCommandsRequest
		got  int
	)
	// Hold every request until all n arrived, then answer them in reverse
	// order, one response message per request.
	f := startStore(t, &fakeStore{onBatch: func(_ int32, s tikvpb.Tikv_BatchCommandsServer, req *tikvpb.BatchCommandsRequest) error {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, req)
		got += len(req.Requests)
		if got < n {
			return nil
		}
		for i := len(held) - 1; i >= 0; i-- {
			h := held[i]
			for j := len(h.Requests) - 1; j >= 0; j-- {
				if err := s.Send(&tikvpb.BatchCommandsResponse{
					RequestIds: []uint64{h.RequestIds[j]},
					Responses:  []*tikvpb.BatchCommandsResponse_Response{echo(h.Requests[j])},
				}); err != nil {
					return err
				}
			}
		}
		return nil
	}}, nil)
	c := newClient(t, kvrpc.WithConnectionCount(1))

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("key-%03d", i)
			resp, err := c.Send(t.Context(), f.addr, rawGet(key))
			if err != nil {
				errs <- err
				return
			}
			if got := valueOf(t, resp); got != key || !resp.Batched {
				errs <- fmt.Errorf("request %s answered with %q (batched=%v)", key, got, resp.Batched)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if u := f.unary.Load(); u != 0 {
		t.Errorf("unary calls = %d, want 0", u)
	}
}

func TestSendUnaryPath(t *testing.T) {
	t.Parallel()
	f := startStore(t, &fakeStore{}, nil)

	t.Run("command without batch form", func(t *testing.T) {
		c := newClient(t)
		resp, err := c.Send(t.Context(), f.addr, kvrpc.NewRawGetKeyTTL(&kvrpcpb.RawGetKeyTTLRequest{Key: []byte("abc")}))
		if err != nil {
			t.Fatal(err)
		}
		if ttl := resp.Message().(*kvrpcpb.RawGetKeyTTLResponse).Ttl; ttl != 3 || resp.Batched {
			t.Fatalf("ttl=%d batched=%v, want 3 false", ttl, resp.Batched)
		}
	})
	t.Run("batching disabled", func(t *testing.T) {
		c := newClient(t, kvrpc.WithMaxBatchSize(0))
		before := f.unary.Load()
		resp, err := c.Send(t.Context(), f.addr, rawGet("k"))
		if err != nil {
			t.Fatal(err)
		}
		if valueOf(t, resp) != "k" || resp.Batched || f.unary.Load() != before+1 {
			t.Fatalf("want one unary answer, got batched=%v", resp.Batched)
		}
	})
	t.Run("forced unary", func(t *testing.T) {
		c := newClient(t)
		req := rawGet("u")
		req.SetUnary()
		resp, err := c.Send(t.Context(), f.addr, req)
		if err != nil {
			t.Fatal(err)
		}
		if valueOf(t, resp) != "u" || resp.Batched {
			t.Fatal("forced-unary request went through the batch stream")
		}
	})
}

func TestStreamFailureFailsInFlightAndReconnects(t *testing.T) {
	t.Parallel()
	const n = 8
	var (
		mu  sync.Mutex
		got int
	)
	// The first stream swallows requests and breaks once n are in flight;
	// later streams answer normally.
	f := startStore(t, &fakeStore{onBatch: func(stream int32, s tikvpb.Tikv_BatchCommandsServer, req *tikvpb.BatchCommandsRequest) error {
		if stream > 1 {
			return echoAll(s, req)
		}
		mu.Lock()
		defer mu.Unlock()
		got += len(req.Requests)
		if got >= n {
			return status.Error(codes.Unavailable, "store crashed")
		}
		return nil
	}}, nil)
	c := newClient(t, kvrpc.WithConnectionCount(1))

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := c.Send(t.Context(), f.addr, rawGet(fmt.Sprint(i)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		var rpcErr *kvrpc.RPCError
		if !errors.Is(err, kvrpc.ErrStreamBroken) || !errors.As(err, &rpcErr) {
			t.Fatalf("in-flight request: %v, want RPCError wrapping ErrStreamBroken", err)
		}
		if !rpcErr.Retryable() || !rpcErr.Sent || rpcErr.Addr != f.addr {
			t.Fatalf("RPCError = %+v, want retryable, sent, addr %s", rpcErr, f.addr)
		}
	}
	resp, err := c.Send(t.Context(), f.addr, rawGet("after"))
	if err != nil {
		t.Fatalf("send after stream failure: %v", err)
	}
	if st := c.Stats(); st.StreamsOpened != 2 || st.StreamFailures != 1 || st.BatchedRequests != n+1 {
		t.Fatalf("stats %+v", st)
	}
	if valueOf(t, resp) != "after" || f.streams.Load() != 2 {
		t.Fatalf("value %q over %d streams, want \"after\" over 2", valueOf(t, resp), f.streams.Load())
	}
}

// holdingStore never answers batched requests and reports each one it
// receives on the returned channel.
func holdingStore(t *testing.T) (*fakeStore, <-chan struct{}) {
	received := make(chan struct{}, 16)
	hold := make(chan struct{})
	f := startStore(t, &fakeStore{hold: hold, onBatch: func(_ int32, _ tikvpb.Tikv_BatchCommandsServer, req *tikvpb.BatchCommandsRequest) error {
		for range req.Requests {
			received <- struct{}{}
		}
		return nil
	}}, nil)
	t.Cleanup(func() { close(hold) }) // runs before the store stops
	return f, received
}

func TestSendHonoursDeadline(t *testing.T) {
	t.Parallel()
	f, _ := holdingStore(t)
	c := newClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Send(ctx, f.addr, rawGet("slow"))
	var rpcErr *kvrpc.RPCError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &rpcErr) || !rpcErr.Timeout() || rpcErr.Retryable() {
		t.Fatalf("Send: %v, want a non-retryable timeout RPCError", err)
	}
}

func TestSendHonoursCancellation(t *testing.T) {
	t.Parallel()
	f, received := holdingStore(t)
	c := newClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Send(ctx, f.addr, rawGet("cancel-me"))
		errc <- err
	}()
	<-received
	cancel()
	err := <-errc
	var rpcErr *kvrpc.RPCError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &rpcErr) || !rpcErr.Sent {
		t.Fatalf("Send: %v, want a cancelled RPCError with Sent", err)
	}
}

func TestCloseFailsWaitersAndIsIdempotent(t *testing.T) {
	t.Parallel()
	f, received := holdingStore(t)
	c, err := kvrpc.New()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Send(t.Context(), f.addr, rawGet("pending"))
		errc <- err
	}()
	<-received
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, kvrpc.ErrClosed) {
		t.Fatalf("pending Send: %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.Send(t.Context(), f.addr, rawGet("late")); !errors.Is(err, kvrpc.ErrClosed) {
		t.Fatalf("Send after Close: %v, want ErrClosed", err)
	}
}

func TestCloseAddrReconnects(t *testing.T) {
	t.Parallel()
	f := startStore(t, &fakeStore{}, nil)
	c := newClient(t, kvrpc.WithConnectionCount(1))
	if _, err := c.Send(t.Context(), f.addr, rawGet("a")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseAddr(f.addr); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(t.Context(), f.addr, rawGet("b")); err != nil {
		t.Fatal(err)
	}
	if s := f.streams.Load(); s != 2 {
		t.Fatalf("streams = %d, want 2 (one per pool)", s)
	}
}

func TestBatchRequestsShareFirstReadyConnection(t *testing.T) {
	t.Parallel()
	f := startStore(t, &fakeStore{}, nil)
	c := newClient(t, kvrpc.WithConnectionCount(3))
	// The first request creates the pool and goes round-robin, as no
	// connection is ready yet; once all are, sequential requests (never
	// more than one waiting) all take the first one.
	if _, err := c.Send(t.Context(), f.addr, rawGet("first")); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConnsReady(t.Context(), f.addr); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := c.Send(t.Context(), f.addr, rawGet(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if s := f.streams.Load(); s > 2 {
		t.Fatalf("streams = %d, want at most 2 (the first request's and the first connection's)", s)
	}
}

func TestInterceptorChain(t *testing.T) {
	t.Parallel()
	f := startStore(t, &fakeStore{}, nil)
	var order []string
	record := func(name string) kvrpc.Interceptor {
		return func(ctx context.Context, target string, req *kvrpc.Request, next kvrpc.Invoker) (*kvrpc.Response, error) {
			order = append(order, name+">")
			req.Context().RequestSource = name
			resp, err := next(ctx, target, req)
			order = append(order, "<"+name)
			return resp, err
		}
	}
	shortCircuit := func(ctx context.Context, target string, req *kvrpc.Request, next kvrpc.Invoker) (*kvrpc.Response, error) {
		if req.Type() == kvrpc.CmdRawGet && string(req.Message().(*kvrpcpb.RawGetRequest).Key) == "cached" {
			return kvrpc.NewResponse(&kvrpcpb.RawGetResponse{Value: []byte("from-interceptor")}), nil
		}
		return next(ctx, target, req)
	}
	c := newClient(t, kvrpc.WithInterceptors(record("outer"), record("inner")), kvrpc.WithInterceptors(shortCircuit))

	req := rawGet("k")
	if _, err := c.Send(t.Context(), f.addr, req); err != nil {
		t.Fatal(err)
	}
	if want := []string{"outer>", "inner>", "<inner", "<outer"}; fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	if src := req.Context().RequestSource; src != "inner" {
		t.Fatalf("request source %q, want the inner interceptor's stamp", src)
	}
	resp, err := c.Send(t.Context(), f.addr, rawGet("cached"))
	if err != nil || valueOf(t, resp) != "from-interceptor" {
		t.Fatalf("short-circuit: %v %v", resp, err)
	}
}

func TestOverloadFeedback(t *testing.T) {
	t.Parallel()
	fb := &kvrpcpb.HealthFeedback{StoreId: 7, FeedbackSeqNo: 42, SlowScore: 80}
	f := startStore(t, &fakeStore{onBatch: func(_ int32, s tikvpb.Tikv_BatchCommandsServer, req *tikvpb.BatchCommandsRequest) error {
		resp := &tikvpb.BatchCommandsResponse{RequestIds: req.RequestIds, TransportLayerLoad: 280, HealthFeedback: fb}
		for _, r := range req.Requests {
			resp.Responses = append(resp.Responses, echo(r))
		}
		return s.Send(resp)
	}}, nil)
	got := make(chan *kvrpcpb.HealthFeedback, 1)
	c := newClient(t, kvrpc.WithHealthFeedback(func(addr string, fb *kvrpcpb.HealthFeedback) {
		if addr == f.addr {
			select {
			case got <- fb:
			default:
			}
		}
	}))
	resp, err := c.Send(t.Context(), f.addr, rawGet("k"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.TransportLayerLoad != 280 {
		t.Fatalf("response load %d, want 280", resp.TransportLayerLoad)
	}
	load := c.StoreLoad(f.addr)
	if load.TransportLayerLoad != 280 || load.HealthFeedback.GetFeedbackSeqNo() != 42 {
		t.Fatalf("StoreLoad = %+v", load)
	}
	if cb := <-got; cb.GetSlowScore() != 80 {
		t.Fatalf("callback feedback %+v", cb)
	}
}

func TestOverloadBatchWaitPacksRequests(t *testing.T) {
	t.Parallel()
	sizes := make(chan int, 16)
	f := startStore(t, &fakeStore{onBatch: func(_ int32, s tikvpb.Tikv_BatchCommandsServer, req *tikvpb.BatchCommandsRequest) error {
		sizes <- len(req.Requests)
		resp := &tikvpb.BatchCommandsResponse{RequestIds: req.RequestIds, TransportLayerLoad: 500}
		for _, r := range req.Requests {
			resp.Responses = append(resp.Responses, echo(r))
		}
		return s.Send(resp)
	}}, nil)
	// The wait is long so that only the size condition can end it.
	c := newClient(t, kvrpc.WithConnectionCount(1), kvrpc.WithOverloadBatchWait(200, time.Minute, 5))
	if _, err := c.Send(t.Context(), f.addr, rawGet("warm-up")); err != nil {
		t.Fatal(err)
	}
	if s := <-sizes; s != 1 {
		t.Fatalf("first batch size %d, want 1 (no wait before overload is known)", s)
	}
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			if _, err := c.Send(t.Context(), f.addr, rawGet(fmt.Sprint(i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if s := <-sizes; s != 5 {
		t.Fatalf("batch size under overload %d, want 5", s)
	}
	if st := c.Stats(); st.BatchMessages != 2 || st.BatchedRequests != 6 {
		t.Fatalf("stats %+v, want 2 messages carrying 6 requests", st)
	}
}

func TestRequestEnvelope(t *testing.T) {
	t.Parallel()
	req := kvrpc.NewPrewrite(&kvrpcpb.PrewriteRequest{StartVersion: 5})
	if req.Type() != kvrpc.CmdPrewrite || !req.Batchable() {
		t.Fatalf("type %s batchable %v", req.Type(), req.Batchable())
	}
	req.Context().RegionId = 9
	if got := req.Message().(*kvrpcpb.PrewriteRequest).GetContext().GetRegionId(); got != 9 {
		t.Fatalf("Context() not stamped into the message: region %d", got)
	}
	if kvrpc.NewSplitRegion(&kvrpcpb.SplitRegionRequest{}).Batchable() {
		t.Fatal("SplitRegion must not be batchable")
	}
	if kvrpc.NewStoreSafeTS(&kvrpcpb.StoreSafeTSRequest{}).Context() != nil {
		t.Fatal("StoreSafeTS has no Context field")
	}
	resp := kvrpc.NewResponse(&kvrpcpb.GetResponse{RegionError: &errorpb.Error{NotLeader: &errorpb.NotLeader{RegionId: 3}}})
	if resp.RegionError().GetNotLeader().GetRegionId() != 3 {
		t.Fatal("RegionError not exposed")
	}
	if _, err := (&kvrpc.Client{}).Send(t.Context(), "", req); !errors.Is(err, kvrpc.ErrInvalidRequest) {
		t.Fatalf("empty address: %v", err)
	}
}

func TestAbandonedRequestCanBeResentAtOnce(t *testing.T) {
	t.Parallel()
	slow, received := holdingStore(t)
	fast := startStore(t, &fakeStore{}, nil)
	c := newClient(t)
	req := rawGet("k")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Send(ctx, slow.addr, req)
		errc <- err
	}()
	<-received
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if n := c.InFlight(slow.addr); n != 0 {
		t.Fatalf("%d abandoned requests still pending on the stream", n)
	}
	// Re-stamp and resend the same Request while the first copy may still
	// be with the transport: the race detector checks they share nothing.
	req.Context().RegionId = 42
	resp, err := c.Send(t.Context(), fast.addr, req)
	if err != nil || valueOf(t, resp) != "k" {
		t.Fatalf("resend: %v %v", resp, err)
	}
}

func TestLoneCallerSendsDirectly(t *testing.T) {
	t.Parallel()
	f := startStore(t, &fakeStore{}, nil)
	c := newClient(t, kvrpc.WithConnectionCount(1))
	for i := range 5 {
		key := fmt.Sprint("k", i)
		resp, err := c.Send(t.Context(), f.addr, rawGet(key))
		if err != nil {
			t.Fatal(err)
		}
		if v := valueOf(t, resp); v != key {
			t.Fatalf("value %q, want %q", v, key)
		}
	}
	if st := c.Stats(); st.DirectSends != 5 || st.BatchMessages != 5 {
		t.Fatalf("stats %+v, want 5 direct sends of 5 messages", st)
	}
}

func TestCallersQueueBehindTheSenderAndLeaveTogether(t *testing.T) {
	t.Parallel()
	const queued = 5
	f := startStore(t, &fakeStore{}, nil)
	c := newClient(t, kvrpc.WithConnectionCount(1))
	if _, err := c.Send(t.Context(), f.addr, rawGet("open")); err != nil {
		t.Fatal(err)
	}
	before := c.Stats()
	// While someone sends on the connection, callers only queue; the
	// sender takes everything queued into its next message.
	release := c.HoldSend(f.addr)
	var wg sync.WaitGroup
	for i := range queued {
		key := fmt.Sprint("q", i)
		wg.Go(func() {
			resp, err := c.Send(t.Context(), f.addr, rawGet(key))
			if err != nil {
				t.Error(err)
				return
			}
			if v := valueOf(t, resp); v != key {
				t.Errorf("value %q, want %q", v, key)
			}
		})
	}
	if err := c.WaitQueued(t.Context(), f.addr, queued); err != nil {
		t.Fatal(err)
	}
	release()
	wg.Wait()
	st := c.Stats()
	if msgs, reqs := st.BatchMessages-before.BatchMessages, st.BatchedRequests-before.BatchedRequests; msgs != 1 || reqs != queued {
		t.Fatalf("%d messages carried %d requests, want 1 carrying %d", msgs, reqs, queued)
	}
	if st.DirectSends-before.DirectSends != 1 {
		t.Fatalf("stats %+v: the message was not sent by the releasing sender", st)
	}
}

func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	f, _ := holdingStore(t)
	for _, tc := range []struct {
		name    string
		opts    []kvrpc.Option
		key     string
		timeout time.Duration
	}{
		{"batch timer", nil, "slow", 50 * time.Millisecond},
		{"batch swept", nil, "slow", 600 * time.Millisecond},
		{"unary", []kvrpc.Option{kvrpc.WithMaxBatchSize(0)}, "hold", 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, tc.opts...)
			req := rawGet(tc.key)
			req.SetTimeout(tc.timeout)
			if req.Timeout() != tc.timeout {
				t.Fatalf("Timeout() = %v", req.Timeout())
			}
			_, err := c.Send(t.Context(), f.addr, req)
			var rpcErr *kvrpc.RPCError
			if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &rpcErr) || !rpcErr.Sent {
				t.Fatalf("Send: %v, want a sent RPCError wrapping the deadline", err)
			}
			if n := c.InFlight(f.addr); n != 0 {
				t.Fatalf("%d timed-out requests still pending on the stream", n)
			}
		})
	}
	t.Run("swept while queued", func(t *testing.T) {
		t.Parallel()
		// A request still queued when its swept deadline passes fails
		// without having been sent, and is never sent after.
		fast := startStore(t, &fakeStore{}, nil)
		c := newClient(t, kvrpc.WithConnectionCount(1))
		if _, err := c.Send(t.Context(), fast.addr, rawGet("open")); err != nil {
			t.Fatal(err)
		}
		release := c.HoldSend(fast.addr)
		req := rawGet("late")
		req.SetTimeout(600 * time.Millisecond)
		_, err := c.Send(t.Context(), fast.addr, req)
		release()
		var rpcErr *kvrpc.RPCError
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &rpcErr) || rpcErr.Sent {
			t.Fatalf("Send: %v, want an unsent RPCError wrapping the deadline", err)
		}
		if n := c.Queued(fast.addr); n != 0 {
			t.Fatalf("%d requests still queued", n)
		}
		if _, err := c.Send(t.Context(), fast.addr, rawGet("after")); err != nil {
			t.Fatal(err)
		}
		if n := fast.batched.Load(); n != 2 {
			t.Fatalf("the store received %d requests, want 2 (the timed-out one was sent)", n)
		}
	})
	t.Run("reused timer", func(t *testing.T) {
		t.Parallel()
		// Entries, and their timers, are recycled: a bounded request
		// answered in time must not leave a timer that fires for the
		// next one. A send may still run out on a loaded machine, but
		// never before its own bound.
		fast := startStore(t, &fakeStore{}, nil)
		c := newClient(t, kvrpc.WithConnectionCount(1))
		for i := range 50 {
			key := fmt.Sprint("k", i)
			req := rawGet(key)
			d := time.Duration(1+i%3) * 90 * time.Millisecond // timers and sweeps
			req.SetTimeout(d)
			start := time.Now()
			resp, err := c.Send(t.Context(), fast.addr, req)
			if took := time.Since(start); err != nil && (!errors.Is(err, context.DeadlineExceeded) || took < d) {
				t.Fatalf("send %d with timeout %v: %v after %v", i, d, err, took)
			}
			if err == nil && valueOf(t, resp) != key {
				t.Fatalf("send %d answered %q", i, valueOf(t, resp))
			}
		}
	})
}

// TestConcurrentSafeCombining sends from many goroutines at once over few
// connections, some requests abandoned mid-way by their ctx or their own
// timeout: every answered request gets its own answer, every other one a
// cancellation or a timeout, and nothing stays queued or in flight.
func TestConcurrentSafeCombining(t *testing.T) {
	t.Parallel()
	f := startStore(t, &fakeStore{}, nil)
	c := newClient(t, kvrpc.WithConnectionCount(2), kvrpc.WithMaxBatchSize(8))
	const workers, each = 48, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprint("w", w, "-", i)
				req := rawGet(key)
				ctx, cancel := context.WithCancel(t.Context())
				switch (w + i) % 5 {
				case 0:
					// Cancelled while it may be queued, sent or answered.
					go cancel()
				case 1:
					req.SetTimeout(time.Duration(i%3) * time.Microsecond * 50) // timed
				case 2:
					req.SetTimeout(600 * time.Millisecond) // swept
				}
				resp, err := c.Send(ctx, f.addr, req)
				cancel()
				switch {
				case err == nil:
					if v := valueOf(t, resp); v != key {
						t.Errorf("%s answered with %q", key, v)
					}
				case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
				default:
					t.Errorf("%s: %v", key, err)
				}
			}
		})
	}
	wg.Wait()
	if n := c.InFlight(f.addr); n != 0 {
		t.Fatalf("%d requests still pending on the streams", n)
	}
	if n := c.Queued(f.addr); n != 0 {
		t.Fatalf("%d requests still queued", n)
	}
}

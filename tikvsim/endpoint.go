package tikvsim

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/keepalive"
)

// ErrStopped is returned when an operation needs a server that is stopped,
// or when the cluster is closed.
var ErrStopped = errors.New("tikvsim: server stopped")

// endpoint is one gRPC server bound to a fixed address. It can be stopped
// (connections refused) and started again on the same address.
type endpoint struct {
	listen   string // host:port to listen on; the port is fixed after the first start
	register func(*grpc.Server)
	opts     []grpc.ServerOption

	mu      sync.Mutex
	addr    string // actual listen address
	srv     *grpc.Server
	health  *health.Server
	serving chan struct{} // closed when Serve returns
	closed  bool          // shut down for good by Cluster.Close
}

func (e *endpoint) start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrStopped
	}
	if e.srv != nil {
		return nil
	}
	listen := e.listen
	if e.addr != "" {
		listen = e.addr
	}
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("tikvsim: listen on %s: %w", listen, err)
	}
	e.addr = lis.Addr().String()
	srv := grpc.NewServer(append(serverOptions(), e.opts...)...)
	e.register(srv)
	e.health = serveHealth(srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis) // returns when stopped
	}()
	e.srv, e.serving = srv, done
	return nil
}

// stop closes the listener and every connection and waits for every handler
// to return. Idempotent.
func (e *endpoint) stop() { e.halt(false) }

// shutdown stops the server for good: a later start fails.
func (e *endpoint) shutdown() { e.halt(true) }

func (e *endpoint) halt(final bool) {
	e.mu.Lock()
	e.closed = e.closed || final
	srv, done, h := e.srv, e.serving, e.health
	e.srv, e.serving, e.health = nil, nil, nil
	e.mu.Unlock()
	if srv == nil {
		return
	}
	// Watchers hear NOT_SERVING before their streams close, as from a
	// server that shuts down cleanly.
	h.Shutdown()
	srv.Stop()
	<-done
}

// maxMessageSize lifts gRPC's 4 MiB default: TiKV accepts much larger
// requests (a Raft entry alone may be 8 MiB), and big batches are legal.
const maxMessageSize = 256 << 20

// serverOptions are shared by every simulated server. TiKV and PD do not
// police client keepalive pings the way grpc-go does by default (one per 5
// minutes without streams), so clients that ping every few seconds, as TiKV
// clients do, must not be sent GOAWAY.
func serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.WaitForHandlers(true),
		grpc.MaxRecvMsgSize(maxMessageSize),
		grpc.MaxSendMsgSize(maxMessageSize),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
	}
}

// storeWindows are a store's fixed flow-control windows: TiKV's default
// stream window (grpc-stream-initial-window-size, 2 MiB) and a connection
// window that never throttles. Fixed windows also turn off grpc-go's BDP
// estimation, which pings the client after every round trip of received
// data (for a lone caller, a ping and an ack per request), where TiKV's
// gRPC core probes at most every 100 ms, backing off to 10 s. PD, a grpc-go
// server with default windows, keeps its BDP pings.
func storeWindows() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.InitialWindowSize(2 << 20), grpc.InitialConnWindowSize(1 << 30)}
}

func (e *endpoint) running() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv != nil
}

func (e *endpoint) address() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addr
}

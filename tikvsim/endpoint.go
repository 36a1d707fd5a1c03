package tikvsim

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc"
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
	srv := grpc.NewServer(append([]grpc.ServerOption{grpc.WaitForHandlers(true)}, e.opts...)...)
	e.register(srv)
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
	srv, done := e.srv, e.serving
	e.srv, e.serving = nil, nil
	e.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Stop()
	<-done
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

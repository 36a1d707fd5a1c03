package tikvsim

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Server kinds an [RPC] names.
const (
	ServerPD    = "pd"
	ServerStore = "store"
)

// batchMethodPrefix prefixes the Method of a BatchCommands sub-request
// this simulator does not serve: the kind of request follows it.
const batchMethodPrefix = "/tikvpb.Tikv/BatchCommands/"

// RPC is one gRPC call a simulated server finished answering, as an
// [Cluster.OnRPC] observer sees it.
type RPC struct {
	// Server is ServerPD or ServerStore.
	Server string
	// ID is the store id, or the PD member's index.
	ID uint64
	// Method is the full gRPC method name, "/service/method", whether or
	// not any service on that server serves it. A BatchCommands
	// sub-request of a kind the simulator does not serve is reported on
	// its own, as "/tikvpb.Tikv/BatchCommands/" followed by the kind (the
	// oneof's Go type name, e.g. "BatchCommandsRequest_Request_Foo"), with
	// code Unimplemented.
	Method string
	// Code is the gRPC status the call ended with; a stream's is the one it
	// ended with.
	Code codes.Code
}

// OnRPC registers fn to be called when any PD member or store finishes a
// gRPC call (unary or stream, on any service, including methods nothing
// serves, which are answered Unimplemented), after fault injection and the
// handler have run. It sees every method name a client sends, which
// [Cluster.OnRequest] (store commands by kvproto name, before any check)
// does not: a test uses it to find requests the simulator does not serve.
// A request that never completes (to a partitioned store, until the
// caller gives up) is reported when it does. fn must be fast and safe for
// concurrent use. The returned function unregisters it.
func (c *Cluster) OnRPC(fn func(RPC)) (remove func()) {
	return c.rpcHooks.add(fn)
}

// hookList is a copy-on-write list of observers: reading it on every call
// costs one atomic load, and registering never blocks a call in flight.
type hookList[T any] struct {
	p atomic.Pointer[[]*T]
}

func (l *hookList[T]) add(v T) (remove func()) {
	h := &v
	for {
		old := l.p.Load()
		var next []*T
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, h)
		if l.p.CompareAndSwap(old, &next) {
			break
		}
	}
	return func() {
		for {
			old := l.p.Load()
			var next []*T
			for _, x := range *old {
				if x != h {
					next = append(next, x)
				}
			}
			if l.p.CompareAndSwap(old, &next) {
				return
			}
		}
	}
}

func (l *hookList[T]) load() []*T {
	if p := l.p.Load(); p != nil {
		return *p
	}
	return nil
}

func (c *Cluster) observeRPC(r RPC) {
	for _, fn := range c.rpcHooks.load() {
		(*fn)(r)
	}
}

// observeUnservedBatch reports a BatchCommands sub-request of a kind the
// simulator does not serve.
func (c *Cluster) observeUnservedBatch(storeID uint64, cmd any) {
	if len(c.rpcHooks.load()) == 0 {
		return
	}
	kind := "empty"
	if cmd != nil {
		kind = fmt.Sprintf("%T", cmd)
		kind = kind[strings.LastIndexByte(kind, '.')+1:]
	}
	c.observeRPC(RPC{Server: ServerStore, ID: storeID, Method: batchMethodPrefix + kind, Code: codes.Unimplemented})
}

// observeOptions are the server options that report every call of one
// server to the OnRPC observers. They come first, so the observer is the
// outermost interceptor and sees faults and handlers alike. Without an
// unknown-service handler gRPC would answer methods no service serves
// before any interceptor runs; this one answers them as gRPC would
// (Unimplemented), after the stream interceptors have seen them.
func (c *Cluster) observeOptions(server string, id uint64) []grpc.ServerOption {
	report := func(method string, err error) {
		if len(c.rpcHooks.load()) > 0 {
			c.observeRPC(RPC{Server: server, ID: id, Method: method, Code: status.Code(err)})
		}
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			resp, err := h(ctx, req)
			report(info.FullMethod, err)
			return resp, err
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			err := h(srv, ss)
			report(info.FullMethod, err)
			return err
		}),
		grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
			method, _ := grpc.MethodFromServerStream(ss)
			return status.Errorf(codes.Unimplemented, "tikvsim: unknown method %s", method)
		}),
	}
}

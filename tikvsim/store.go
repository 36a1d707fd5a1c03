package tikvsim

import (
	"context"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// store is one simulated TiKV node. Data lives in the cluster's shared
// engine; the store adds its identity, its gRPC server and its faults.
type store struct {
	c  *Cluster
	id uint64
	ep *endpoint

	mu        sync.Mutex
	partition chan struct{} // non-nil while partitioned

	feedbackSeq atomic.Uint64
	txnStatus   *txnStatusCache // filled by BroadcastTxnStatus
}

func (s *store) partitioned() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.partition
}

// blackhole makes a request hang as if the network dropped it: it returns
// only when the caller gives up or the cluster closes.
func (s *store) blackhole(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	case <-s.c.closing:
		return ErrStopped
	}
}

func (s *store) unaryInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if s.partitioned() != nil {
		return nil, s.blackhole(ctx)
	}
	return h(ctx, req)
}

// requestHook is one OnRequest observer.
type requestHook struct {
	fn func(storeID uint64, cmd string)
}

// OnRequest registers fn to be called when any store receives a request
// (unary or BatchCommands sub-request), before any check, with the store id
// and the RPC name. PD requests are reported with storeID 0 and the PD RPC
// name prefixed by "pd.". Requests to a partitioned store are not reported
// (they never reach it). fn must be fast and safe for concurrent use. The
// returned function unregisters it.
func (c *Cluster) OnRequest(fn func(storeID uint64, cmd string)) (remove func()) {
	h := &requestHook{fn: fn}
	for {
		old := c.hooks.Load()
		var next []*requestHook
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, h)
		if c.hooks.CompareAndSwap(old, &next) {
			break
		}
	}
	return func() {
		for {
			old := c.hooks.Load()
			var next []*requestHook
			for _, x := range *old {
				if x != h {
					next = append(next, x)
				}
			}
			if c.hooks.CompareAndSwap(old, &next) {
				return
			}
		}
	}
}

func (c *Cluster) observe(storeID uint64, cmd string) {
	hs := c.hooks.Load()
	if hs == nil {
		return
	}
	for _, h := range *hs {
		h.fn(storeID, cmd)
	}
}

func (c *Cluster) observePD(_ int, method string) {
	if c.hooks.Load() != nil {
		c.observe(0, "pd."+method)
	}
}

package tikv

import (
	"context"
	"time"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tso"
)

// Metrics receives the client's events, for a metrics adapter such as
// github.com/tikvgo/tikvgo/tikvprom. Its methods use only types of the
// modules below the facade, so an adapter implements it without importing
// this package. Pass it with WithMetrics; the facade registers nothing
// anywhere.
//
// Implementations must be safe for concurrent use. Further events come as
// optional interfaces (StatsTracker, TSOObserver, BackoffObserver,
// CacheStatsTracker) that New looks for with a type assertion, so adding one
// never breaks an existing implementation.
type Metrics interface {
	// InterceptRPC is installed as the kvrpc interceptor of every store
	// RPC: it must call next exactly once and return its result. It runs
	// on the request's goroutine, so it should only count and time.
	InterceptRPC(ctx context.Context, target string, req *kvrpc.Request, next kvrpc.Invoker) (*kvrpc.Response, error)
}

// StatsTracker is an optional interface of Metrics: New hands it functions
// reading the cumulative Stats of the parts it built, and Close calls the
// returned untrack function, after which the functions are never called
// again by the adapter. pd is nil when the PD client is shared
// (WithPDClient); tso returns zero Stats until the timestamp client is first
// used.
type StatsTracker interface {
	TrackStats(rpc func() kvrpc.Stats, pd func() pdclient.Stats, tso func() tso.Stats) (untrack func())
}

// TSOObserver is an optional interface of Metrics: it is told the latency
// and outcome of every Client.CurrentTS call.
type TSOObserver interface {
	ObserveTSO(d time.Duration, err error)
}

// BackoffObserver is an optional interface of Metrics: it is told about
// every backoff of the raw client's calls (New passes ObserveBackoff to
// rawkv.WithBackoffObserver), whether the backoff slept, was refused or was
// interrupted. It runs synchronously on the goroutine that backed off,
// possibly from several at once, so it should only count and time.
type BackoffObserver interface {
	ObserveBackoff(ev retry.BackoffEvent)
}

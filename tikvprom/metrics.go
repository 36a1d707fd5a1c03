package tikvprom

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/retry"
)

// Result classes of the result label, indexes into resultNames.
const (
	resultOK = iota
	resultRegionError
	resultTimeout
	resultCanceled
	resultError
	numResults
)

var resultNames = [numResults]string{"ok", "region_error", "timeout", "canceled", "error"}

// Metrics holds the Prometheus collectors of one tikvgo client (or several
// sharing it). Build it with New and hand it to tikv.WithMetrics. It is safe
// for concurrent use.
type Metrics struct {
	rpc *prometheus.HistogramVec
	// rpcByCmd caches the rpc observers per command, so the hot path does
	// one read-locked map lookup instead of hashing label values.
	rpcMu    sync.RWMutex
	rpcByCmd map[kvrpc.CmdType]*[numResults]prometheus.Observer

	backoff *prometheus.HistogramVec
	tso     *prometheus.HistogramVec
	stats   *statsCollector
}

// New builds the collectors and registers them on reg, which must not be
// nil; the caller owns reg (use prometheus.NewRegistry, or
// prometheus.DefaultRegisterer deliberately). A registration error, such as
// a second Metrics with the same namespace on one registry, is returned
// (errors.As finds prometheus.AlreadyRegisteredError) and leaves reg as it
// was.
func New(reg prometheus.Registerer, opts ...Option) (*Metrics, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if reg == nil {
		cfg.errs = append(cfg.errs, errors.New("nil Registerer"))
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Metrics{
		rpc: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace:   cfg.namespace,
			Subsystem:   "rpc",
			Name:        "duration_seconds",
			Help:        "Duration of store RPC attempts by command and result class.",
			ConstLabels: cfg.constLabels,
			Buckets:     cfg.buckets,
		}, []string{"command", "result"}),
		backoff: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace:   cfg.namespace,
			Subsystem:   "backoff",
			Name:        "sleep_seconds",
			Help:        "Backoff sleeps by retry kind and outcome.",
			ConstLabels: cfg.constLabels,
			Buckets:     cfg.buckets,
		}, []string{"kind", "outcome"}),
		tso: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace:   cfg.namespace,
			Subsystem:   "tso",
			Name:        "duration_seconds",
			Help:        "Duration of timestamp requests by result class.",
			ConstLabels: cfg.constLabels,
			Buckets:     cfg.buckets,
		}, []string{"result"}),
		stats:    newStatsCollector(cfg.namespace, cfg.constLabels),
		rpcByCmd: map[kvrpc.CmdType]*[numResults]prometheus.Observer{},
	}
	var done []prometheus.Collector
	for _, c := range []prometheus.Collector{m.rpc, m.backoff, m.tso, m.stats} {
		if err := reg.Register(c); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			return nil, fmt.Errorf("tikvprom: register: %w", err)
		}
		done = append(done, c)
	}
	return m, nil
}

// InterceptRPC is a kvrpc interceptor (install it with
// kvrpc.WithInterceptors, or let tikv.WithMetrics do it): it times every
// store RPC attempt and counts it by command and result class.
func (m *Metrics) InterceptRPC(ctx context.Context, target string, req *kvrpc.Request, next kvrpc.Invoker) (*kvrpc.Response, error) {
	start := time.Now()
	resp, err := next(ctx, target, req)
	m.rpcObservers(req.Type())[rpcResult(resp, err)].Observe(time.Since(start).Seconds())
	return resp, err
}

// rpcObservers returns the observers of cmd, one per result class.
func (m *Metrics) rpcObservers(cmd kvrpc.CmdType) *[numResults]prometheus.Observer {
	m.rpcMu.RLock()
	obs := m.rpcByCmd[cmd]
	m.rpcMu.RUnlock()
	if obs != nil {
		return obs
	}
	m.rpcMu.Lock()
	defer m.rpcMu.Unlock()
	if obs = m.rpcByCmd[cmd]; obs == nil {
		obs = new([numResults]prometheus.Observer)
		for i, r := range resultNames {
			obs[i] = m.rpc.WithLabelValues(string(cmd), r)
		}
		m.rpcByCmd[cmd] = obs
	}
	return obs
}

// Interceptor returns InterceptRPC as a kvrpc.Interceptor, for building a
// kvrpc client directly.
func (m *Metrics) Interceptor() kvrpc.Interceptor { return m.InterceptRPC }

func rpcResult(resp *kvrpc.Response, err error) int {
	switch {
	case err == nil && resp != nil && resp.RegionError() != nil:
		return resultRegionError
	case err == nil:
		return resultOK
	case errors.Is(err, context.Canceled):
		return resultCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return resultTimeout
	case rpcTimeout(err):
		return resultTimeout
	}
	return resultError
}

// rpcTimeout reports whether err is a kvrpc attempt that timed out. It is a
// function of its own so the error target escapes only on the error path.
func rpcTimeout(err error) bool {
	var rpcErr *kvrpc.RPCError
	return errors.As(err, &rpcErr) && rpcErr.Timeout()
}

// ObserveBackoff records one backoff (the facade's tikv.BackoffObserver,
// which hands it every backoff of the raw client's calls). It has the
// signature retry.WithObserver and rawkv.WithBackoffObserver take, so code
// that builds its own retry.Backoffer or raw client can pass m.ObserveBackoff.
// The slept time is observed (zero for a refused backoff).
func (m *Metrics) ObserveBackoff(ev retry.BackoffEvent) {
	kind := "unknown"
	if ev.Kind != nil {
		kind = ev.Kind.String()
	}
	m.backoff.WithLabelValues(kind, ev.Outcome.String()).Observe(ev.Slept.Seconds())
}

// ObserveTSO records one timestamp request (the facade's tikv.TSOObserver).
func (m *Metrics) ObserveTSO(d time.Duration, err error) {
	result := resultOK
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		result = resultCanceled
	case errors.Is(err, context.DeadlineExceeded):
		result = resultTimeout
	default:
		result = resultError
	}
	m.tso.WithLabelValues(resultNames[result]).Observe(d.Seconds())
}

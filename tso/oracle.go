package tso

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Source hands out timestamps; [*Client] is one. Tests may supply their own.
type Source interface {
	GetTS(ctx context.Context) (Timestamp, error)
}

// DefaultLowResolutionInterval is how often the oracle refreshes its
// low-resolution timestamp by default (client-go uses 2s).
const DefaultLowResolutionInterval = 2 * time.Second

type oracleConfig struct {
	interval time.Duration
	logger   *slog.Logger
}

// OracleOption configures an [Oracle]. Options are sealed.
type OracleOption interface{ applyOracle(*oracleConfig) }

type oracleOptionFunc func(*oracleConfig)

func (f oracleOptionFunc) applyOracle(c *oracleConfig) { f(c) }

// WithLowResolutionInterval sets the initial refresh interval of the
// low-resolution timestamp. Default: [DefaultLowResolutionInterval].
func WithLowResolutionInterval(d time.Duration) OracleOption {
	return oracleOptionFunc(func(c *oracleConfig) { c.interval = d })
}

// WithOracleLogger sets the logger for refresh failures. Default: discard.
func WithOracleLogger(l *slog.Logger) OracleOption {
	return oracleOptionFunc(func(c *oracleConfig) {
		if l != nil {
			c.logger = l
		}
	})
}

// observed is a timestamp and the local monotonic time it arrived.
type observed struct {
	ts Timestamp
	at time.Time
}

// Oracle adds a cached clock on top of a [Source]: a low-resolution
// timestamp refreshed in the background, stale timestamps, and lock expiry
// checks measured in PD time. It is safe for concurrent use; Close stops its
// refresher.
type Oracle struct {
	src      Source
	log      *slog.Logger
	last     atomic.Pointer[observed]
	interval atomic.Int64
	reset    chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// NewOracle starts an oracle on src. The first low-resolution timestamp is
// fetched by the refresher straight away.
func NewOracle(src Source, opts ...OracleOption) (*Oracle, error) {
	cfg := oracleConfig{interval: DefaultLowResolutionInterval, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if o != nil {
			o.applyOracle(&cfg)
		}
	}
	if cfg.interval <= 0 {
		return nil, fmt.Errorf("tso: %w: low-resolution interval must be positive", ErrInvalidOption)
	}
	o := &Oracle{src: src, log: cfg.logger, reset: make(chan struct{}, 1)}
	o.interval.Store(int64(cfg.interval))
	o.ctx, o.cancel = context.WithCancel(context.Background())
	o.wg.Add(1)
	go o.refresh()
	return o, nil
}

// Close stops the refresher. It does not close the source. It is idempotent.
func (o *Oracle) Close() error {
	o.once.Do(func() {
		o.cancel()
		o.wg.Wait()
	})
	return nil
}

func (o *Oracle) refresh() {
	defer o.wg.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-o.ctx.Done():
			return
		case <-o.reset:
		case <-t.C:
			if _, err := o.TS(o.ctx); err != nil && o.ctx.Err() == nil {
				o.log.Warn("tso: low-resolution refresh failed", slog.Any("error", err))
			}
		}
		t.Reset(time.Duration(o.interval.Load()))
	}
}

// SetLowResolutionInterval changes the refresh interval at run time; the
// next refresh happens d from now.
func (o *Oracle) SetLowResolutionInterval(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%w: low-resolution interval must be positive", ErrInvalidArgument)
	}
	o.interval.Store(int64(d))
	select {
	case o.reset <- struct{}{}:
	default:
	}
	return nil
}

// LowResolutionInterval returns the current refresh interval.
func (o *Oracle) LowResolutionInterval() time.Duration { return time.Duration(o.interval.Load()) }

// observe records ts unless a later one is already cached.
func (o *Oracle) observe(ts Timestamp) {
	n := &observed{ts: ts, at: time.Now()}
	for {
		cur := o.last.Load()
		if cur != nil && cur.ts >= ts {
			return
		}
		if o.last.CompareAndSwap(cur, n) {
			return
		}
	}
}

// TS returns a fresh timestamp from the source and caches it.
func (o *Oracle) TS(ctx context.Context) (Timestamp, error) {
	ts, err := o.src.GetTS(ctx)
	if err != nil {
		return 0, err
	}
	o.observe(ts)
	return ts, nil
}

// LowResolutionTS returns the cached timestamp, at most about one refresh
// interval old, without contacting PD; before the first refresh it fetches
// one.
func (o *Oracle) LowResolutionTS(ctx context.Context) (Timestamp, error) {
	if cur := o.last.Load(); cur != nil {
		return cur.ts, nil
	}
	return o.TS(ctx)
}

// nowPhysical estimates PD's current physical time from the last timestamp
// seen plus the local time elapsed since it arrived.
func (o *Oracle) nowPhysical(ctx context.Context) (int64, error) {
	cur := o.last.Load()
	if cur == nil {
		if _, err := o.TS(ctx); err != nil {
			return 0, err
		}
		cur = o.last.Load()
	}
	return cur.ts.Physical() + time.Since(cur.at).Milliseconds(), nil
}

// StaleTS returns a timestamp about age in the past, in PD time: the
// physical part of the last timestamp seen, advanced by the local time
// since it arrived, minus age. Its logical part is 0.
func (o *Oracle) StaleTS(ctx context.Context, age time.Duration) (Timestamp, error) {
	now, err := o.nowPhysical(ctx)
	if err != nil {
		return 0, err
	}
	p := now - age.Milliseconds()
	if p < 0 {
		return 0, fmt.Errorf("%w: stale age %v reaches before the epoch", ErrInvalidArgument, age)
	}
	return Compose(p, 0), nil
}

// UntilExpired returns how long until a lock taken at ts with the given ttl
// expires, in PD time (negative once expired). Without any cached timestamp
// it falls back to the local clock.
func (o *Oracle) UntilExpired(ts Timestamp, ttl time.Duration) time.Duration {
	var now int64
	if cur := o.last.Load(); cur != nil {
		now = cur.ts.Physical() + time.Since(cur.at).Milliseconds()
	} else {
		now = time.Now().UnixMilli()
	}
	return time.Duration(ts.Physical()+ttl.Milliseconds()-now) * time.Millisecond
}

// IsExpired reports whether a lock taken at ts with the given ttl has
// expired, in PD time.
func (o *Oracle) IsExpired(ts Timestamp, ttl time.Duration) bool {
	return o.UntilExpired(ts, ttl) <= 0
}

package tikv

import (
	"context"
	"fmt"
	"time"

	"github.com/tikvgo/tikvgo/tso"
)

// Oracle returns the client's cached clock over its TSO client (both started
// on first use; ctx bounds only that start): a low-resolution timestamp
// refreshed in the background every tso.DefaultLowResolutionInterval, stale
// timestamps and lock-expiry checks in PD time. It is closed by
// Client.Close; after Close, Oracle fails with ErrClosed.
func (c *Client) Oracle(ctx context.Context) (*tso.Oracle, error) {
	t, err := c.TSO(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClientClosed
	}
	if c.oracle == nil {
		o, err := tso.NewOracle(t, tso.WithOracleLogger(c.cfg.logger))
		if err != nil {
			return nil, fmt.Errorf("tikv: start oracle: %w", err)
		}
		c.oracle = o
	}
	return c.oracle, nil
}

// LowResolutionTS returns a timestamp at most about one refresh interval
// old without asking PD (after the first call). Use it where a slightly old
// timestamp is fine: expiry checks, the upper end of a stale read.
func (c *Client) LowResolutionTS(ctx context.Context) (Timestamp, error) {
	o, err := c.Oracle(ctx)
	if err != nil {
		return 0, err
	}
	return o.LowResolutionTS(ctx)
}

// StaleTS returns a read timestamp about age in the past, in PD time, for a
// stale read (a snapshot read at that ts sent with locate.WithStaleReadAt).
// It does not ask PD after the first call. A negative age, or one that
// reaches before the epoch, fails with an error matching
// tso.ErrInvalidArgument.
func (c *Client) StaleTS(ctx context.Context, age time.Duration) (Timestamp, error) {
	if age < 0 {
		return 0, fmt.Errorf("tikv: stale ts: %w: negative age %v", tso.ErrInvalidArgument, age)
	}
	o, err := c.Oracle(ctx)
	if err != nil {
		return 0, err
	}
	return o.StaleTS(ctx, age)
}

// MaxStalenessTS returns the freshest read timestamp that is at most
// maxStaleness old and that, when possible, every replica can serve as a
// stale read: the smallest safe ts polled from the stores when it lies
// between now-maxStaleness and now, otherwise now-maxStaleness (then some
// replicas cannot serve it yet, and a read sent with
// locate.WithStaleReadAt goes to those that can, or to the leader). It is
// what a "max staleness" read option resolves to; the safe ts comes from
// the background loop (WithSafeTSPoll), so with the loop off this is
// StaleTS.
func (c *Client) MaxStalenessTS(ctx context.Context, maxStaleness time.Duration) (Timestamp, error) {
	stale, err := c.StaleTS(ctx, maxStaleness)
	if err != nil {
		return 0, err
	}
	now, err := c.LowResolutionTS(ctx)
	if err != nil {
		return 0, err
	}
	if safe := Timestamp(c.cache.MinSafeTS()); safe > stale && safe <= now {
		return safe, nil
	}
	return stale, nil
}

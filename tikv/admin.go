package tikv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tikvgo/tikvgo/locate/keycodec"
)

// Region admin errors. Test for them with errors.Is and errors.As.
var (
	// ErrSplitIncomplete is matched when PD finished only part of a split
	// (see [SplitError]).
	ErrSplitIncomplete = errors.New("tikv: split incomplete")
	// ErrScatterFailed is matched when PD could not start a scatter on
	// some regions (see [ScatterError]).
	ErrScatterFailed = errors.New("tikv: scatter failed")
	// ErrScatterUnfinished is matched when the wait for scatter operators
	// ended before they all finished (see [ScatterWaitError]).
	ErrScatterUnfinished = errors.New("tikv: scatter unfinished")
)

// SplitError reports a split PD finished only partly: the regions it made
// exist, the rest of the keys are not region boundaries. It matches
// [ErrSplitIncomplete].
type SplitError struct {
	// FinishedPercent is how much of the split PD completed (0-99).
	FinishedPercent uint64
	// RegionIDs are the regions the split did create.
	RegionIDs []uint64
}

// Error implements error.
func (e *SplitError) Error() string {
	return fmt.Sprintf("tikv: split incomplete: %d%% done, %d new regions", e.FinishedPercent, len(e.RegionIDs))
}

// Is makes errors.Is(err, ErrSplitIncomplete) true.
func (e *SplitError) Is(target error) bool { return target == ErrSplitIncomplete }

// ScatterError lists the regions PD did not scatter. It matches
// [ErrScatterFailed].
type ScatterError struct {
	// Failed are the region ids PD reported as not scattered.
	Failed []uint64
}

// Error implements error.
func (e *ScatterError) Error() string {
	return fmt.Sprintf("tikv: scatter failed for regions %v", e.Failed)
}

// Is makes errors.Is(err, ErrScatterFailed) true.
func (e *ScatterError) Is(target error) bool { return target == ErrScatterFailed }

// ScatterWaitError reports scatter operators still running, or finished
// other than successfully, when a wait ended. It matches
// [ErrScatterUnfinished] and, through Unwrap, what ended the wait (the
// ctx's error or the last PD error).
type ScatterWaitError struct {
	// Pending are the regions whose operator was still running.
	Pending []uint64
	// Failed maps a region to the final status of an operator that ended
	// without success (for example "TIMEOUT" or "CANCEL").
	Failed map[uint64]string
	// Err is what ended the wait; nil when every operator ended but some
	// did not succeed.
	Err error
}

// Error implements error.
func (e *ScatterWaitError) Error() string {
	msg := fmt.Sprintf("tikv: scatter unfinished: %d running, %d failed", len(e.Pending), len(e.Failed))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrScatterUnfinished) true.
func (e *ScatterWaitError) Is(target error) bool { return target == ErrScatterUnfinished }

// Unwrap returns what ended the wait.
func (e *ScatterWaitError) Unwrap() error { return e.Err }

// KeyMode says how [RegionAdmin.Split] reads its keys.
type KeyMode uint8

const (
	// TxnKeys are transactional user keys; they are encoded the way the
	// transactional client stores them (memcomparable, plus the keyspace
	// prefix under API V2). The default, as in client-go.
	TxnKeys KeyMode = iota
	// RawKeys are raw user keys (plus the keyspace prefix under API V2).
	RawKeys
	// RegionKeys are region keys as PD stores them, sent unchanged (what
	// `tikv regions` prints).
	RegionKeys
)

// DefaultScatterPoll is how often [RegionAdmin.WaitScatter] asks PD about
// the operators it waits for, unless [WithScatterPoll] says otherwise.
const DefaultScatterPoll = 100 * time.Millisecond

// AdminOption configures one [RegionAdmin] call. Options a call does not
// use are ignored.
type AdminOption interface {
	applyAdmin(*adminConfig)
}

type adminOptionFunc func(*adminConfig)

func (f adminOptionFunc) applyAdmin(c *adminConfig) { f(c) }

type adminConfig struct {
	mode    KeyMode
	scatter bool
	wait    bool
	group   string
	poll    time.Duration
	errs    []error
}

// WithKeyMode says how Split reads its keys. Default TxnKeys.
func WithKeyMode(m KeyMode) AdminOption {
	return adminOptionFunc(func(c *adminConfig) {
		if m > RegionKeys {
			c.errs = append(c.errs, fmt.Errorf("WithKeyMode(%d)", m))
			return
		}
		c.mode = m
	})
}

// WithScatter makes Split scatter the new regions once they exist.
// Default: no scatter.
func WithScatter() AdminOption {
	return adminOptionFunc(func(c *adminConfig) { c.scatter = true })
}

// WithWaitScatter makes Split scatter the new regions and wait until PD's
// scatter operators finish, under the call's ctx deadline. Default: no
// wait.
func WithWaitScatter() AdminOption {
	return adminOptionFunc(func(c *adminConfig) { c.scatter, c.wait = true, true })
}

// WithScatterGroup scatters the regions as one group, so PD balances the
// group as a whole. Default: no group.
func WithScatterGroup(group string) AdminOption {
	return adminOptionFunc(func(c *adminConfig) { c.group = group })
}

// WithScatterPoll sets how often a wait polls PD for operator status.
// Default [DefaultScatterPoll].
func WithScatterPoll(d time.Duration) AdminOption {
	return adminOptionFunc(func(c *adminConfig) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("WithScatterPoll(%v)", d))
			return
		}
		c.poll = d
	})
}

func collectAdmin(opts []AdminOption) (adminConfig, error) {
	cfg := adminConfig{poll: DefaultScatterPoll}
	for _, o := range opts {
		if o != nil {
			o.applyAdmin(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return cfg, fmt.Errorf("tikv: %w: %w", ErrInvalidOption, errors.Join(cfg.errs...))
	}
	return cfg, nil
}

// RegionAdmin splits and scatters regions through PD. Get one with
// [Client.Regions]; it is a small value over the Client's PD client, safe
// for concurrent use, and needs no closing.
type RegionAdmin struct {
	c *Client
}

// Regions returns the region administration API.
func (c *Client) Regions() RegionAdmin { return RegionAdmin{c: c} }

// regionKey turns a user key into the region key PD splits at.
func (a RegionAdmin) regionKey(mode KeyMode, k []byte) ([]byte, error) {
	if mode == RegionKeys {
		return k, nil
	}
	m := keycodec.Txn
	if mode == RawKeys {
		m = keycodec.Raw
	}
	var (
		codec *keycodec.Codec
		err   error
	)
	if a.c.cfg.apiVersion == V2 {
		codec, err = keycodec.NewV2(m, a.c.raw.KeyspaceID())
	} else {
		codec, err = keycodec.NewV1(m)
	}
	if err != nil {
		return nil, fmt.Errorf("tikv: %w", err)
	}
	return codec.RegionKey(codec.EncodeKey(k)), nil
}

// Split splits regions at keys and returns the ids of the regions the split
// created. A key that is a region boundary already creates nothing. With
// [WithScatter] or [WithWaitScatter] the new regions are then scattered
// (and waited for). No keys is a no-op; an empty key fails at once with
// [ErrEmptyKey]. PD splits what it can:
// a partial split returns the new ids with a [SplitError].
//
// The split is not repeated after an ambiguous failure (PD may have done
// it); a caller may call Split again, which is harmless.
func (a RegionAdmin) Split(ctx context.Context, keys [][]byte, opts ...AdminOption) ([]uint64, error) {
	cfg, err := collectAdmin(opts)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	wire := make([][]byte, 0, len(keys))
	for i, k := range keys {
		if len(k) == 0 {
			return nil, fmt.Errorf("tikv: split: key %d: %w", i, ErrEmptyKey)
		}
		rk, err := a.regionKey(cfg.mode, k)
		if err != nil {
			return nil, err
		}
		wire = append(wire, rk)
	}
	slices.SortFunc(wire, bytes.Compare)
	res, err := a.c.pd.SplitRegions(ctx, wire)
	if err != nil {
		return nil, fmt.Errorf("tikv: split: %w", err)
	}
	ids := res.RegionIDs
	if res.FinishedPercent < 100 {
		return ids, &SplitError{FinishedPercent: res.FinishedPercent, RegionIDs: ids}
	}
	if !cfg.scatter || len(ids) == 0 {
		return ids, nil
	}
	if err := a.scatter(ctx, ids, cfg); err != nil {
		return ids, err
	}
	if cfg.wait {
		return ids, a.waitScatter(ctx, ids, cfg)
	}
	return ids, nil
}

// Scatter asks PD to spread regions over the stores ([WithScatterGroup]
// scatters them as one group). It returns once PD accepted the operators;
// [RegionAdmin.WaitScatter] waits for them to finish. Regions PD could not
// scatter are reported in a [ScatterError]; no regions is a no-op.
func (a RegionAdmin) Scatter(ctx context.Context, regionIDs []uint64, opts ...AdminOption) error {
	cfg, err := collectAdmin(opts)
	if err != nil {
		return err
	}
	if len(regionIDs) == 0 {
		return nil
	}
	return a.scatter(ctx, regionIDs, cfg)
}

func (a RegionAdmin) scatter(ctx context.Context, ids []uint64, cfg adminConfig) error {
	res, err := a.c.pd.ScatterRegions(ctx, ids, cfg.group)
	if err != nil {
		return fmt.Errorf("tikv: scatter: %w", err)
	}
	if len(res.FailedRegionIDs) > 0 {
		return &ScatterError{Failed: res.FailedRegionIDs}
	}
	return nil
}

// WaitScatter waits until no scatter operator runs on any of the regions,
// polling PD every [WithScatterPoll]. The ctx deadline bounds the wait: when
// it passes first, the error is a [ScatterWaitError] listing the regions
// still being scattered (it matches [ErrScatterUnfinished] and the ctx
// error). An operator that ended without success (timed out, cancelled,
// replaced) is reported the same way, under Failed. A region with no
// operator at all counts as done: PD forgets finished operators.
func (a RegionAdmin) WaitScatter(ctx context.Context, regionIDs []uint64, opts ...AdminOption) error {
	cfg, err := collectAdmin(opts)
	if err != nil {
		return err
	}
	return a.waitScatter(ctx, regionIDs, cfg)
}

func (a RegionAdmin) waitScatter(ctx context.Context, ids []uint64, cfg adminConfig) error {
	pending := slices.Clone(ids)
	failed := map[uint64]string{}
	var timer *time.Timer
	for {
		var still []uint64
		for i, id := range pending {
			op, err := a.c.pd.GetOperator(ctx, id)
			if err != nil {
				return &ScatterWaitError{Pending: append(still, pending[i:]...), Failed: nilIfEmpty(failed), Err: err}
			}
			switch {
			case op == nil, op.Desc != scatterOperatorDesc:
				// None, or another operator replaced the scatter: nothing
				// of ours is running there any more.
			case op.Running():
				still = append(still, id)
			case op.Status.String() != "SUCCESS":
				failed[id] = op.Status.String()
			}
		}
		pending = still
		if len(pending) == 0 {
			if len(failed) > 0 {
				return &ScatterWaitError{Failed: failed}
			}
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(cfg.poll)
			defer timer.Stop()
		} else {
			timer.Reset(cfg.poll)
		}
		select {
		case <-ctx.Done():
			return &ScatterWaitError{Pending: pending, Failed: nilIfEmpty(failed), Err: ctx.Err()}
		case <-timer.C:
		}
	}
}

// scatterOperatorDesc is the operator PD's scatter creates.
const scatterOperatorDesc = "scatter-region"

func nilIfEmpty(m map[uint64]string) map[uint64]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

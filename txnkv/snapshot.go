package txnkv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// KV is a key-value pair an iteration returned.
type KV struct {
	Key   []byte
	Value []byte
}

// Snapshot reads the data committed at or before one timestamp. Reads
// that meet another transaction's lock resolve it through the lock
// resolver (commit or roll back a decided or expired transaction, push a
// live one's min commit ts above the read ts) or back off while it is
// alive; the transactions found resolved or committed are remembered, so
// later reads of the snapshot read past their locks without asking again.
//
// A Snapshot is safe for concurrent use.
type Snapshot struct {
	c        *Client
	ts       tso.Timestamp
	cfg      txnConfig
	sendOpts []locate.SendOption

	mu        sync.Mutex
	resolved  []uint64 // transactions whose locks reads may ignore
	committed []uint64 // transactions whose locks reads may read through
}

func newSnapshot(c *Client, ts tso.Timestamp, cfg txnConfig) *Snapshot {
	return &Snapshot{c: c, ts: ts, cfg: cfg, sendOpts: cfg.sendOptions()}
}

// TS returns the snapshot's read timestamp.
func (s *Snapshot) TS() tso.Timestamp { return s.ts }

// rpcContext is the kvrpcpb.Context of one read: isolation level and the
// lock sets learned so far. The sender fills in the routing fields.
func (s *Snapshot) rpcContext() *kvrpcpb.Context {
	c := &kvrpcpb.Context{}
	if s.cfg.isolation == RC {
		c.IsolationLevel = kvrpcpb.IsolationLevel_RC
	}
	s.mu.Lock()
	c.ResolvedLocks = slices.Clone(s.resolved)
	c.CommittedLocks = slices.Clone(s.committed)
	s.mu.Unlock()
	return c
}

// check fails a read the snapshot can no longer serve.
func (s *Snapshot) check(ctx context.Context) error {
	if err := s.c.checkOpen(); err != nil {
		return err
	}
	return s.c.checkSafePoint(ctx, s.ts)
}

func (s *Snapshot) newBackoffer() *retry.Backoffer { return retry.New(s.cfg.readBudget) }

// lockOf returns the lock a read's key error reports, or the error itself
// when it is something else.
func lockOf(ke *kvrpcpb.KeyError) (*twopc.Lock, error) {
	if l := ke.GetLocked(); l != nil {
		return twopc.NewLock(l), nil
	}
	if a := ke.GetAbort(); a != "" {
		return nil, fmt.Errorf("txnkv: read: %w", &twopc.AbortError{Msg: a})
	}
	return nil, fmt.Errorf("txnkv: read: %w", &twopc.AbortError{Msg: ke.String()})
}

// resolve deals with locks a read met: the resolver settles what it can
// and says how long to wait for the rest; the transactions it reports are
// remembered for every later read of the snapshot.
func (s *Snapshot) resolve(ctx context.Context, bo *retry.Backoffer, locks []*twopc.Lock) error {
	res, err := s.c.tp.Resolver().ResolveLocksForRead(ctx, bo, s.ts, locks)
	if err != nil {
		return fmt.Errorf("txnkv: resolve locks: %w", err)
	}
	if len(res.Resolved)+len(res.Committed) > 0 {
		s.mu.Lock()
		for _, ts := range res.Resolved {
			if !slices.Contains(s.resolved, uint64(ts)) {
				s.resolved = append(s.resolved, uint64(ts))
			}
		}
		for _, ts := range res.Committed {
			if !slices.Contains(s.committed, uint64(ts)) {
				s.committed = append(s.committed, uint64(ts))
			}
		}
		s.mu.Unlock()
	}
	if res.Wait > 0 {
		cause := &twopc.KeyIsLockedError{Lock: locks[0]}
		if err := bo.BackoffAtMost(ctx, retry.TxnLockFast, res.Wait, cause); err != nil {
			return fmt.Errorf("txnkv: wait for lock: %w", err)
		}
	}
	return nil
}

// Get returns the value of key at the snapshot, or an error matching
// ErrNotFound. An existing empty value is a non-nil empty slice.
func (s *Snapshot) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	bo := s.newBackoffer()
	for {
		resp, err := s.c.sendKey(ctx, bo, key, func() *kvrpc.Request {
			return kvrpc.NewGet(&kvrpcpb.GetRequest{Context: s.rpcContext(), Key: key, Version: uint64(s.ts)})
		}, s.sendOpts)
		if err != nil {
			return nil, fmt.Errorf("txnkv: get: %w", err)
		}
		m := resp.Message().(*kvrpcpb.GetResponse)
		if ke := m.GetError(); ke != nil {
			lock, err := lockOf(ke)
			if err != nil {
				return nil, err
			}
			if err := s.resolve(ctx, bo, []*twopc.Lock{lock}); err != nil {
				return nil, err
			}
			continue
		}
		if m.GetNotFound() {
			return nil, ErrNotFound
		}
		if m.Value == nil {
			return []byte{}, nil
		}
		return m.Value, nil
	}
}

// BatchGet returns the values of the keys that exist at the snapshot,
// keyed by string(key). Keys are grouped by region and the regions read in
// parallel (at most WithReadConcurrency at once).
func (s *Snapshot) BatchGet(ctx context.Context, keys [][]byte) (map[string][]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	keys = dedupKeys(keys)
	groups, err := s.c.groupKeys(ctx, keys, DefaultBatchGetSize)
	if err != nil {
		return nil, fmt.Errorf("txnkv: batch get: %w", err)
	}
	var mu sync.Mutex
	err = s.c.runGroups(ctx, s.newBackoffer(), groups, s.c.cfg.concurrency, DefaultBatchGetSize,
		func(ctx context.Context, bo *retry.Backoffer, g keyGroup) error {
			pending := g.keys
			for len(pending) > 0 {
				req := kvrpc.NewBatchGet(&kvrpcpb.BatchGetRequest{Context: s.rpcContext(), Keys: pending, Version: uint64(s.ts)})
				resp, err := s.c.sender.Send(ctx, bo, req, g.loc.Region, s.sendOpts...)
				if err != nil {
					return err
				}
				m := resp.Message().(*kvrpcpb.BatchGetResponse)
				if ke := m.GetError(); ke != nil {
					lock, err := lockOf(ke)
					if err != nil {
						return err
					}
					if err := s.resolve(ctx, bo, []*twopc.Lock{lock}); err != nil {
						return err
					}
					continue
				}
				var (
					locks  []*twopc.Lock
					locked [][]byte
				)
				mu.Lock()
				for _, p := range m.GetPairs() {
					if ke := p.GetError(); ke != nil {
						lock, err := lockOf(ke)
						if err != nil {
							mu.Unlock()
							return err
						}
						// TiKV names the key only in the lock info.
						locks = append(locks, lock)
						locked = append(locked, lock.Key)
						continue
					}
					v := p.GetValue()
					if v == nil {
						v = []byte{}
					}
					out[string(p.GetKey())] = v
				}
				mu.Unlock()
				if len(locks) > 0 {
					if err := s.resolve(ctx, bo, locks); err != nil {
						return err
					}
				}
				pending = locked
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("txnkv: batch get: %w", err)
	}
	return out, nil
}

// dedupKeys returns keys without repeats (a new slice when any repeat).
func dedupKeys(keys [][]byte) [][]byte {
	seen := make(map[string]struct{}, len(keys))
	out := keys[:0:0]
	for _, k := range keys {
		if _, ok := seen[string(k)]; ok {
			continue
		}
		seen[string(k)] = struct{}{}
		out = append(out, k)
	}
	return out
}

func (s *Snapshot) readConfig(opts []ReadOption) readConfig {
	rc := readConfig{scanBatch: s.cfg.scanBatch}
	for _, o := range opts {
		if o != nil {
			o.applyRead(&rc)
		}
	}
	return rc
}

// Iter iterates over the pairs of [start, end) at the snapshot in
// ascending key order; an empty end means no upper bound. It reads one
// page of the scan batch size at a time (WithScanBatchSize, ScanBatchSize),
// region by region, so memory stays bounded whatever the range. An error
// ends the iteration as the last pair yielded. With KeyOnly values are nil.
func (s *Snapshot) Iter(ctx context.Context, start, end []byte, opts ...ReadOption) iter.Seq2[KV, error] {
	return s.scan(ctx, start, end, false, opts)
}

// IterReverse iterates over the pairs of [start, end) in descending key
// order. end must not be empty.
func (s *Snapshot) IterReverse(ctx context.Context, start, end []byte, opts ...ReadOption) iter.Seq2[KV, error] {
	return s.scan(ctx, start, end, true, opts)
}

func (s *Snapshot) scan(ctx context.Context, start, end []byte, reverse bool, opts []ReadOption) iter.Seq2[KV, error] {
	return func(yield func(KV, error) bool) {
		rc := s.readConfig(opts)
		var err error
		switch {
		case rc.scanBatch < 1:
			err = fmt.Errorf("txnkv: %w: scan batch size %d < 1", ErrInvalidOption, rc.scanBatch)
		case len(end) > 0 && bytes.Compare(start, end) > 0:
			err = fmt.Errorf("txnkv: %w: start %q is after end %q", ErrInvalidRange, start, end)
		case reverse && len(end) == 0:
			err = fmt.Errorf("txnkv: %w: a reverse iteration needs an upper bound", ErrInvalidRange)
		default:
			err = s.check(ctx)
		}
		if err != nil {
			yield(KV{}, err)
			return
		}
		if len(end) > 0 && bytes.Equal(start, end) {
			return
		}
		// cur is never nil while pages remain: an empty start is the
		// first key.
		cur := append([]byte{}, start...)
		if reverse {
			cur = append([]byte{}, end...)
		}
		for cur != nil {
			pairs, next, err := s.scanPage(ctx, cur, start, end, reverse, rc)
			if err != nil {
				yield(KV{}, fmt.Errorf("txnkv: scan: %w", err))
				return
			}
			for _, p := range pairs {
				if !yield(p, nil) {
					return
				}
			}
			cur = next
		}
	}
}

// scanPage reads one page from cur (forward: the inclusive lower bound;
// reverse: the exclusive upper bound) within one region and [start, end).
// next is where the following page starts, nil when the range is done.
func (s *Snapshot) scanPage(ctx context.Context, cur, start, end []byte, reverse bool, rc readConfig) (pairs []KV, next []byte, err error) {
	bo := s.newBackoffer()
	for {
		loc, regStart, regEnd, err := s.c.locateRange(ctx, cur, reverse)
		if err != nil {
			return nil, nil, err
		}
		q := &kvrpcpb.ScanRequest{Context: s.rpcContext(), Limit: uint32(rc.scanBatch), Version: uint64(s.ts), KeyOnly: rc.keyOnly, Reverse: reverse}
		var last bool // the page's region reaches the range's far bound
		if reverse {
			lower := regStart
			if bytes.Compare(regStart, start) <= 0 {
				lower, last = start, true
			}
			q.StartKey, q.EndKey = cur, lower
		} else {
			upper := regEnd
			if len(regEnd) == 0 || (len(end) > 0 && bytes.Compare(regEnd, end) >= 0) {
				upper, last = end, true
			}
			q.StartKey, q.EndKey = cur, upper
		}
		resp, err := s.c.sender.Send(ctx, bo, kvrpc.NewScan(q), loc.Region, s.sendOpts...)
		if errors.Is(err, locate.ErrRegionStale) {
			if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		m := resp.Message().(*kvrpcpb.ScanResponse)
		if ke := m.GetError(); ke != nil {
			lock, err := lockOf(ke)
			if err != nil {
				return nil, nil, err
			}
			if err := s.resolve(ctx, bo, []*twopc.Lock{lock}); err != nil {
				return nil, nil, err
			}
			continue
		}
		var locks []*twopc.Lock
		pairs = pairs[:0]
		for _, p := range m.GetPairs() {
			if ke := p.GetError(); ke != nil {
				lock, err := lockOf(ke)
				if err != nil {
					return nil, nil, err
				}
				locks = append(locks, lock)
				continue
			}
			v := p.GetValue()
			if rc.keyOnly {
				v = nil
			} else if v == nil {
				v = []byte{}
			}
			pairs = append(pairs, KV{Key: p.GetKey(), Value: v})
		}
		if len(locks) > 0 {
			// Read the page again once the locks are dealt with, so the
			// page stays in key order without holes.
			if err := s.resolve(ctx, bo, locks); err != nil {
				return nil, nil, err
			}
			continue
		}
		switch {
		case len(m.GetPairs()) >= rc.scanBatch:
			lastKey := m.GetPairs()[len(m.GetPairs())-1].GetKey()
			if reverse {
				return pairs, slices.Clone(lastKey), nil
			}
			return pairs, append(slices.Clone(lastKey), 0), nil
		case last:
			return pairs, nil, nil
		case reverse:
			return pairs, regStart, nil
		default:
			return pairs, regEnd, nil
		}
	}
}

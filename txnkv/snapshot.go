package txnkv

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
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
	s := new(Snapshot)
	initSnapshot(s, c, ts, cfg)
	return s
}

// initSnapshot sets up a zero Snapshot in place.
func initSnapshot(s *Snapshot, c *Client, ts tso.Timestamp, cfg txnConfig) {
	s.c, s.ts, s.cfg, s.sendOpts = c, ts, cfg, cfg.sendOptions()
}

// txnWithSnapshot places a transaction beside its snapshot.
type txnWithSnapshot struct {
	txn  Txn
	snap Snapshot
}

// TS returns the snapshot's read timestamp.
func (s *Snapshot) TS() tso.Timestamp { return s.ts }

// rpcContext is the kvrpcpb.Context of one read: API version and keyspace,
// isolation level and the lock sets learned so far. The sender fills in the
// routing fields.
func (s *Snapshot) rpcContext() *kvrpcpb.Context {
	c := s.c.codec.Context()
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

// locksOf returns the locks a read's key error reports (one per holder of
// a shared-lock wrapper, each resolved as its own transaction), or the
// error itself when it is something else.
func locksOf(ke *kvrpcpb.KeyError) ([]*twopc.Lock, error) {
	if l := ke.GetLocked(); l != nil {
		return twopc.NewLocks(l), nil
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
	v, err := s.get(ctx, s.c.codec.EncodeKey(key))
	return v, s.c.userKeys(err)
}

// get reads the wire key key.
func (s *Snapshot) get(ctx context.Context, key []byte) ([]byte, error) {
	bo := s.newBackoffer()
	for {
		req := kvrpc.NewGet(&kvrpcpb.GetRequest{Context: s.rpcContext(), Key: key, Version: uint64(s.ts)})
		resp, err := s.c.router.SendKey(ctx, bo, key, req, s.sendOpts...)
		if err != nil {
			return nil, fmt.Errorf("txnkv: get: %w", err)
		}
		m := resp.Message().(*kvrpcpb.GetResponse)
		if ke := m.GetError(); ke != nil {
			locks, err := locksOf(ke)
			if err != nil {
				return nil, err
			}
			if err := s.resolve(ctx, bo, locks); err != nil {
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
	keys = s.c.encodeKeys(dedupKeys(keys))
	bopts := []locate.BatchOption{locate.WithBatchLimit(DefaultBatchGetSize, 0), locate.WithConcurrency(s.c.cfg.concurrency)}
	batches, err := locate.GroupByRegion(ctx, s.c.router, keys, keyItem, bopts...)
	if err != nil {
		return nil, fmt.Errorf("txnkv: batch get: %w", err)
	}
	var mu sync.Mutex
	err = locate.SendBatches(ctx, s.newBackoffer(), s.c.router, batches, keyItem,
		func(ctx context.Context, bo *retry.Backoffer, b locate.Batch[[]byte]) error {
			pending := b.Items
			for len(pending) > 0 {
				req := kvrpc.NewBatchGet(&kvrpcpb.BatchGetRequest{Context: s.rpcContext(), Keys: pending, Version: uint64(s.ts)})
				resp, err := s.c.sender.Send(ctx, bo, req, b.Location.Region, s.sendOpts...)
				if err != nil {
					return err
				}
				m := resp.Message().(*kvrpcpb.BatchGetResponse)
				if ke := m.GetError(); ke != nil {
					locks, err := locksOf(ke)
					if err != nil {
						return err
					}
					if err := s.resolve(ctx, bo, locks); err != nil {
						return err
					}
					continue
				}
				var (
					locks  []*twopc.Lock
					locked [][]byte
				)
				// The map's keys are cut from one string of all the
				// response's keys: one allocation instead of one per key.
				size := 0
				for _, p := range m.GetPairs() {
					if p.GetError() == nil {
						size += len(s.c.decodeKey(p.GetKey()))
					}
				}
				var sb strings.Builder
				sb.Grow(size)
				for _, p := range m.GetPairs() {
					if p.GetError() == nil {
						sb.Write(s.c.decodeKey(p.GetKey()))
					}
				}
				all, off := sb.String(), 0
				mu.Lock()
				for _, p := range m.GetPairs() {
					if ke := p.GetError(); ke != nil {
						ls, err := locksOf(ke)
						if err != nil {
							mu.Unlock()
							return err
						}
						// TiKV names the key only in the lock info.
						locks = append(locks, ls...)
						locked = append(locked, ls[0].Key)
						continue
					}
					v := p.GetValue()
					if v == nil {
						v = []byte{}
					}
					n := len(s.c.decodeKey(p.GetKey()))
					out[all[off:off+n]] = v
					off += n
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
		}, bopts...)
	if err != nil {
		return nil, s.c.userKeys(fmt.Errorf("txnkv: batch get: %w", err))
	}
	return out, nil
}

// dedupKeys returns keys without repeats: keys itself when they are in
// strictly ascending order, otherwise a new slice. The set of keys seen is
// keyed by pieces of one string holding all the keys, so it costs one
// allocation for the keys rather than one per key. Nothing modifies keys.
func dedupKeys(keys [][]byte) [][]byte {
	// Keys in strictly ascending order, as callers often pass them, hold
	// no duplicate: no copy, no map.
	sorted := true
	for i := 1; i < len(keys) && sorted; i++ {
		sorted = bytes.Compare(keys[i-1], keys[i]) < 0
	}
	if sorted {
		return keys
	}
	size := 0
	for _, k := range keys {
		size += len(k)
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, k := range keys {
		sb.Write(k)
	}
	all, off := sb.String(), 0
	seen := make(map[string]struct{}, len(keys))
	out := make([][]byte, 0, len(keys))
	for _, k := range keys {
		ks := all[off : off+len(k)]
		off += len(k)
		if _, ok := seen[ks]; ok {
			continue
		}
		seen[ks] = struct{}{}
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
		// From here on the range is in wire keys: under API V2 an empty
		// end becomes the end of the keyspace, so a scan never leaves it.
		start, end := s.c.codec.EncodeRange(start, end)
		// cur is never nil while pages remain: an empty start is the
		// first key.
		cur := append([]byte{}, start...)
		if reverse {
			cur = append([]byte{}, end...)
		}
		for cur != nil {
			pairs, next, err := s.scanPage(ctx, cur, start, end, reverse, rc)
			if err != nil {
				yield(KV{}, s.c.userKeys(fmt.Errorf("txnkv: scan: %w", err)))
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
// reverse: the exclusive upper bound) within one region and [start, end),
// all wire keys. The pairs carry user keys; next, a wire key, is where the
// following page starts, nil when the range is done.
func (s *Snapshot) scanPage(ctx context.Context, cur, start, end []byte, reverse bool, rc readConfig) (pairs []KV, next []byte, err error) {
	page := func(ctx context.Context, bo *retry.Backoffer, sp locate.Span) (bool, error) {
		for {
			// A region ending at a raw split key (V1 shared with raw KV)
			// takes a bound inside it; see keycodec.Codec.RequestEnd.
			upper, ok := s.c.codec.RequestEnd(sp.End, sp.Location.EndKey)
			if !ok {
				upper = sp.End // a timestamped split key; TiKV decides
			}
			q := &kvrpcpb.ScanRequest{Context: s.rpcContext(), Limit: uint32(rc.scanBatch), Version: uint64(s.ts),
				KeyOnly: rc.keyOnly, Reverse: reverse, StartKey: sp.Start, EndKey: upper}
			if reverse {
				q.StartKey, q.EndKey = upper, sp.Start
			}
			resp, err := s.c.sender.Send(ctx, bo, kvrpc.NewScan(q), sp.Location.Region, s.sendOpts...)
			if err != nil {
				return false, err
			}
			m := resp.Message().(*kvrpcpb.ScanResponse)
			if ke := m.GetError(); ke != nil {
				locks, err := locksOf(ke)
				if err != nil {
					return false, err
				}
				if err := s.resolve(ctx, bo, locks); err != nil {
					return false, err
				}
				continue
			}
			var locks []*twopc.Lock
			pairs = pairs[:0]
			if n := len(m.GetPairs()); cap(pairs) < n {
				pairs = make([]KV, 0, n)
			}
			for _, p := range m.GetPairs() {
				if ke := p.GetError(); ke != nil {
					ls, err := locksOf(ke)
					if err != nil {
						return false, err
					}
					locks = append(locks, ls...)
					continue
				}
				v := p.GetValue()
				if rc.keyOnly {
					v = nil
				} else if v == nil {
					v = []byte{}
				}
				pairs = append(pairs, KV{Key: s.c.decodeKey(p.GetKey()), Value: v})
			}
			if len(locks) > 0 {
				// Read the page again once the locks are dealt with, so
				// it stays in key order without holes.
				if err := s.resolve(ctx, bo, locks); err != nil {
					return false, err
				}
				continue
			}
			switch {
			case len(m.GetPairs()) >= rc.scanBatch:
				lastKey := m.GetPairs()[len(m.GetPairs())-1].GetKey()
				if reverse {
					next = slices.Clone(lastKey)
				} else {
					next = append(slices.Clone(lastKey), 0)
				}
			case reverse && bytes.Compare(sp.Start, start) > 0:
				next = slices.Clone(sp.Start)
			case !reverse && len(sp.End) > 0 && (len(end) == 0 || bytes.Compare(sp.End, end) < 0):
				next = slices.Clone(sp.End)
			default:
				next = nil // the range is done
			}
			// One region's page at a time: the caller yields it before
			// the walk goes on.
			return true, nil
		}
	}
	bo := s.newBackoffer()
	if reverse {
		err = s.c.router.WalkRangeReverse(ctx, bo, start, cur, page)
	} else {
		err = s.c.router.WalkRange(ctx, bo, cur, end, page)
	}
	if err != nil {
		return nil, nil, err
	}
	return pairs, next, nil
}

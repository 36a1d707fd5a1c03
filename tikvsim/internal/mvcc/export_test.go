package mvcc

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// WaitingCount returns how many KvPessimisticLock requests are queued on key.
func (e *Engine) WaitingCount(key []byte) int { return e.waitingCount(key) }

// CheckInvariants verifies the storage invariants the fuzz and scenario
// tests rely on:
//   - every Put write without a short value has its default-CF value;
//   - every Put lock without a short value has its default-CF value;
//   - commit_ts > start_ts for every non-rollback write, == for rollbacks;
//   - writes are strictly ordered by commit ts (one record per slot);
//   - no default-CF value is orphaned (each belongs to a lock or Put write);
//   - every lock names a primary; index and ordered tree agree;
//   - every queued waiter waits on a key that holds a lock.
func (e *Engine) CheckInvariants() error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.order.Len() != len(e.keys) {
		return fmt.Errorf("index has %d keys, tree %d", len(e.keys), e.order.Len())
	}
	var err error
	e.order.Ascend(func(r *keyRec) bool {
		if e.keys[string(r.key)] != r {
			err = fmt.Errorf("key %q: tree and index disagree", r.key)
			return false
		}
		if r.empty() {
			err = fmt.Errorf("key %q: empty record kept", r.key)
			return false
		}
		used := map[uint64]bool{}
		if l := r.lock; l.isShared() {
			// A wrapper has no txn of its own; every holder names a primary.
			if len(l.shared) == 0 {
				err = fmt.Errorf("key %q: shared wrapper without holders", r.key)
				return false
			}
			for _, h := range l.shared {
				if len(h.primary) == 0 || (h.typ != kvrpcpb.Op_SharedLock && h.typ != kvrpcpb.Op_SharedPessimisticLock) {
					err = fmt.Errorf("key %q: bad shared holder %d (%s)", r.key, h.startTS, h.typ)
					return false
				}
			}
		} else if l != nil {
			if len(l.primary) == 0 {
				err = fmt.Errorf("key %q: lock %d without primary", r.key, l.startTS)
				return false
			}
			if l.typ == kvrpcpb.Op_Put && !l.hasShort {
				if _, ok := r.values[l.startTS]; !ok {
					err = fmt.Errorf("key %q: put lock %d without value", r.key, l.startTS)
					return false
				}
				used[l.startTS] = true
			}
		}
		for i, w := range r.writes {
			if i > 0 && r.writes[i-1].commitTS >= w.commitTS {
				err = fmt.Errorf("key %q: writes out of order", r.key)
				return false
			}
			switch {
			case w.kind == writeRollback && w.commitTS != w.startTS:
				err = fmt.Errorf("key %q: rollback %d at %d", r.key, w.startTS, w.commitTS)
			case w.kind != writeRollback && w.commitTS <= w.startTS:
				err = fmt.Errorf("key %q: commit_ts %d <= start_ts %d", r.key, w.commitTS, w.startTS)
			case w.kind == writePut && !w.hasShort:
				if _, ok := r.values[w.startTS]; !ok {
					err = fmt.Errorf("key %q: put %d@%d without its value", r.key, w.startTS, w.commitTS)
				}
				used[w.startTS] = true
			}
			if err != nil {
				return false
			}
		}
		for s := range r.values {
			if !used[s] {
				err = fmt.Errorf("key %q: orphan value at %d", r.key, s)
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	for k, ws := range e.waits {
		r := e.keys[k]
		if r == nil || r.lock == nil {
			return fmt.Errorf("key %q: %d waiters but no lock", k, len(ws))
		}
		for _, w := range ws {
			if !bytes.Equal(w.key, []byte(k)) {
				return fmt.Errorf("waiter queued on wrong key")
			}
		}
	}
	return nil
}

// Digest renders the whole transactional state (locks, writes, values) as
// text, so tests can assert that a failed command changed nothing.
func (e *Engine) Digest() string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var sb strings.Builder
	e.order.Ascend(func(r *keyRec) bool {
		fmt.Fprintf(&sb, "%q:", r.key)
		if l := r.lock; l != nil {
			fmt.Fprintf(&sb, " lock%+v", *l)
		}
		for _, w := range r.writes {
			fmt.Fprintf(&sb, " w%+v", w)
		}
		ts := make([]uint64, 0, len(r.values))
		for s := range r.values {
			ts = append(ts, s)
		}
		slices.Sort(ts)
		for _, s := range ts {
			fmt.Fprintf(&sb, " v%d=%x", s, r.values[s])
		}
		sb.WriteByte('\n')
		return true
	})
	return sb.String()
}

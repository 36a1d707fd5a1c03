package mvcc

import (
	"bytes"
	"maps"
	"slices"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// batch makes one write command atomic: every record it touches is saved
// before its first change, so a command that fails part-way restores them
// (TiKV discards the command's write buffer the same way). Lock-release
// wake-ups are held back until the batch commits. Caller holds e.mu
// exclusively for the batch's whole life.
type batch struct {
	e     *Engine
	saved map[*keyRec]savedRec
	order []*keyRec
	wakes []wakeEvent
}

type savedRec struct {
	lock   *lock
	writes []write
	values map[uint64][]byte
}

type wakeEvent struct {
	key      []byte
	lockTS   uint64
	commitTS uint64
}

func (e *Engine) newBatch() *batch {
	return &batch{e: e}
}

// touch returns the record of key for modification, creating it if needed.
func (b *batch) touch(key []byte) *keyRec {
	r := b.e.recForWrite(key)
	b.save(r)
	return r
}

func (b *batch) save(r *keyRec) {
	if b.saved == nil {
		b.saved = make(map[*keyRec]savedRec, 4)
	}
	if _, ok := b.saved[r]; ok {
		return
	}
	s := savedRec{writes: slices.Clone(r.writes), values: maps.Clone(r.values)}
	if r.lock != nil {
		l := *r.lock
		s.lock = &l
		// Keep the live lock distinct from the saved copy.
		cp := *r.lock
		r.lock = &cp
	}
	b.saved[r] = s
	b.order = append(b.order, r)
}

// abort restores every touched record and drops pending wake-ups.
func (b *batch) abort() {
	for _, r := range b.order {
		s := b.saved[r]
		r.lock, r.writes, r.values = s.lock, s.writes, s.values
		b.e.tidy(r)
	}
	b.wakes = nil
}

// commit publishes the changes: wakes waiters of released locks and drops
// records left empty.
func (b *batch) commit() {
	for _, r := range b.order {
		b.e.tidy(r)
	}
	for _, w := range b.wakes {
		b.e.wakeWaiters(w.key, w.lockTS, w.commitTS)
	}
}

// setLock stores the lock of a mutation, moving a long Put value to the
// default CF.
func (b *batch) setLock(r *keyRec, l *lock, value []byte) {
	if l.typ == kvrpcpb.Op_Put {
		if len(value) <= shortValueMaxLen {
			l.shortValue, l.hasShort = bytes.Clone(value), true
			if l.shortValue == nil {
				l.shortValue = []byte{}
			}
		} else {
			if r.values == nil {
				r.values = make(map[uint64][]byte)
			}
			r.values[l.startTS] = bytes.Clone(value)
			l.shortValue, l.hasShort = nil, false
		}
	}
	r.lock = l
}

// putValue writes a committed version's value (1PC): inline or default CF.
func (b *batch) putRecord(r *keyRec, w write, value []byte) {
	if w.kind == writePut {
		if len(value) <= shortValueMaxLen {
			w.shortValue, w.hasShort = bytes.Clone(value), true
			if w.shortValue == nil {
				w.shortValue = []byte{}
			}
		} else {
			if r.values == nil {
				r.values = make(map[uint64][]byte)
			}
			r.values[w.startTS] = bytes.Clone(value)
		}
	}
	r.putWrite(w)
}

// unlock removes r's lock; its waiters are woken when the batch commits.
// commitTS is the released txn's commit ts on this key (0 = rolled back).
func (b *batch) unlock(r *keyRec, commitTS uint64) {
	if l := r.lock; l != nil {
		r.lock = nil
		b.wakes = append(b.wakes, wakeEvent{key: r.key, lockTS: l.startTS, commitTS: commitTS})
	}
}

// commitLock turns this txn's lock on r into a commit record at commitTS; a
// pessimistic lock is just removed (§3.9).
func (b *batch) commitLock(r *keyRec, commitTS uint64) {
	l := r.lock
	if l == nil {
		return
	}
	if l.pessimistic() {
		b.unlock(r, commitTS)
		return
	}
	r.putWrite(write{
		kind:       writeKindOf(l.typ),
		startTS:    l.startTS,
		commitTS:   commitTS,
		shortValue: l.shortValue,
		hasShort:   l.hasShort,
		overlapped: slices.Contains(l.rollbackTS, commitTS),
		txnSource:  l.txnSource,
	})
	b.unlock(r, commitTS)
}

// rollback writes a rollback record of txn startTS on r (§1.5) and, when the
// key holds that txn's lock, removes the lock and its default value.
func (b *batch) rollback(r *keyRec, startTS uint64, protected, collapse bool) {
	if l := r.lock; l != nil && l.startTS == startTS {
		if l.typ == kvrpcpb.Op_Put && !l.hasShort {
			delete(r.values, startTS)
		}
		b.unlock(r, 0)
	}
	// The collapse candidate is the newest record at or below startTS as
	// of before this rollback.
	collapseAt := -1
	if collapse {
		for i := range r.writes {
			if r.writes[i].commitTS <= startTS {
				if r.writes[i].commitTS < startTS && r.writes[i].kind == writeRollback && !r.writes[i].protected() {
					collapseAt = i
				}
				break
			}
		}
	}
	if i := r.writeAt(startTS); i >= 0 {
		w := &r.writes[i]
		if w.startTS == startTS {
			// This txn's own record is already there.
			if w.kind == writeRollback && protected && !w.protected() {
				w.shortValue, w.hasShort = []byte{protectedMarker}, true
			}
			return
		}
		// Overlapped: another txn committed at exactly startTS. Only a
		// protected rollback leaves a trace, on that commit record.
		if protected && w.kind != writeRollback {
			w.overlapped = true
			w.gcFence = 0
			for j := i - 1; j >= 0; j-- {
				if k := r.writes[j].kind; k == writePut || k == writeDelete {
					w.gcFence = r.writes[j].commitTS
					break
				}
			}
		}
		return
	}
	rb := write{kind: writeRollback, startTS: startTS, commitTS: startTS}
	if protected {
		rb.shortValue, rb.hasShort = []byte{protectedMarker}, true
		// A later async commit of another txn at exactly startTS must
		// record the overlapped rollback.
		if l := r.lock; l != nil && l.startTS != startTS && l.useAsyncCommit && startTS >= l.minCommitTS &&
			!slices.Contains(l.rollbackTS, startTS) {
			l.rollbackTS = append(slices.Clip(l.rollbackTS), startTS)
		}
	}
	if collapseAt >= 0 {
		r.deleteWriteAt(collapseAt)
	}
	r.putWrite(rb)
}

package mvcc

import (
	"bytes"
	"slices"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// batch makes one write command atomic: it keeps the previous lock of every
// record it touches and an undo log of write and value changes, so a command
// that fails part-way is rolled back (TiKV discards the command's write
// buffer the same way). Lock-release wake-ups are held back until the batch
// commits. Caller holds e.mu exclusively for the batch's whole life.
type batch struct {
	e     *Engine
	saved map[*keyRec]*lock
	order []*keyRec
	undo  []undoOp
	wakes []wakeEvent
}

type undoKind uint8

const (
	undoInsert  undoKind = iota + 1 // a write was inserted at w.commitTS
	undoReplace                     // the write at w.commitTS was w
	undoDelete                      // w was deleted
	undoValue                       // values[ts] was val (had) or absent
)

type undoOp struct {
	kind undoKind
	r    *keyRec
	w    write
	ts   uint64
	val  []byte
	had  bool
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

// save remembers r's lock before its first change; the live lock becomes a
// private copy that may be modified in place.
func (b *batch) save(r *keyRec) {
	if b.saved == nil {
		b.saved = make(map[*keyRec]*lock, 4)
	}
	if _, ok := b.saved[r]; ok {
		return
	}
	b.saved[r] = r.lock
	if r.lock != nil {
		cp := *r.lock
		cp.shared = slices.Clone(cp.shared) // entries are replaced, never changed
		r.lock = &cp
	}
	b.order = append(b.order, r)
}

// abort undoes every change and drops pending wake-ups.
func (b *batch) abort() {
	for i := len(b.undo) - 1; i >= 0; i-- {
		u := &b.undo[i]
		r := u.r
		switch u.kind {
		case undoInsert:
			if j := r.writeAt(u.w.commitTS); j >= 0 {
				r.deleteWriteAt(j)
			}
		case undoReplace:
			if j := r.writeAt(u.w.commitTS); j >= 0 {
				*r.w(j) = u.w
			}
		case undoDelete:
			r.putWrite(u.w)
		case undoValue:
			if u.had {
				if r.values == nil {
					r.values = make(map[uint64][]byte)
				}
				r.values[u.ts] = u.val
			} else {
				delete(r.values, u.ts)
			}
		}
	}
	for _, r := range b.order {
		r.lock = b.saved[r]
		b.e.tidy(r)
	}
	b.undo, b.wakes = nil, nil
}

// commit publishes the changes: wakes waiters of released locks and drops
// records left empty.
func (b *batch) commit() {
	for _, r := range b.order {
		if len(r.values) == 0 {
			r.values = nil
		}
		b.e.tidy(r)
	}
	for _, w := range b.wakes {
		b.e.wakeWaiters(w.key, w.lockTS, w.commitTS)
	}
}

// putWrite inserts (or replaces) a write record, logging the undo.
func (b *batch) putWrite(r *keyRec, w write) {
	old, replaced := r.putWrite(w)
	if replaced {
		b.undo = append(b.undo, undoOp{kind: undoReplace, r: r, w: old})
	} else {
		b.undo = append(b.undo, undoOp{kind: undoInsert, r: r, w: w})
	}
}

// deleteWrite removes the write at logical index i, logging the undo.
func (b *batch) deleteWrite(r *keyRec, i int) {
	b.undo = append(b.undo, undoOp{kind: undoDelete, r: r, w: *r.w(i)})
	r.deleteWriteAt(i)
}

// updateWrite returns the write at logical index i for in-place change,
// logging its current value.
func (b *batch) updateWrite(r *keyRec, i int) *write {
	w := r.w(i)
	b.undo = append(b.undo, undoOp{kind: undoReplace, r: r, w: *w})
	return w
}

// setValue stores a default-CF value, logging the undo.
func (b *batch) setValue(r *keyRec, ts uint64, v []byte) {
	old, had := r.values[ts]
	b.undo = append(b.undo, undoOp{kind: undoValue, r: r, ts: ts, val: old, had: had})
	if r.values == nil {
		r.values = make(map[uint64][]byte)
	}
	r.values[ts] = v
}

// deleteValue removes a default-CF value, logging the undo.
func (b *batch) deleteValue(r *keyRec, ts uint64) {
	old, had := r.values[ts]
	if !had {
		return
	}
	b.undo = append(b.undo, undoOp{kind: undoValue, r: r, ts: ts, val: old, had: true})
	delete(r.values, ts)
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
			b.setValue(r, l.startTS, bytes.Clone(value))
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
			b.setValue(r, w.startTS, bytes.Clone(value))
		}
	}
	b.putWrite(r, w)
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
	b.putWrite(r, write{
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
			b.deleteValue(r, startTS)
		}
		b.unlock(r, 0)
	} else if l.isShared() {
		b.removeShared(r, startTS, 0)
	}
	// The collapse candidate is the newest record at or below startTS as
	// of before this rollback.
	collapseAt := -1
	if collapse {
		for i := 0; i < len(r.writes); i++ {
			if w := r.w(i); w.commitTS <= startTS {
				if w.commitTS < startTS && w.kind == writeRollback && !w.protected() {
					collapseAt = i
				}
				break
			}
		}
	}
	if i := r.writeAt(startTS); i >= 0 {
		w := r.w(i)
		if w.startTS == startTS {
			// This txn's own record is already there.
			if w.kind == writeRollback && protected && !w.protected() {
				w = b.updateWrite(r, i)
				w.shortValue, w.hasShort = []byte{protectedMarker}, true
			}
			return
		}
		// Overlapped: another txn committed at exactly startTS. Only a
		// protected rollback leaves a trace, on that commit record.
		if protected && w.kind != writeRollback {
			fence := uint64(0)
			for j := i - 1; j >= 0; j-- {
				if k := r.w(j).kind; k == writePut || k == writeDelete {
					fence = r.w(j).commitTS
					break
				}
			}
			w = b.updateWrite(r, i)
			w.overlapped, w.gcFence = true, fence
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
		b.deleteWrite(r, collapseAt)
	}
	b.putWrite(r, rb)
}

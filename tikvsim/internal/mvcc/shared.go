package mvcc

import (
	"slices"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// Shared locks (newest TiKV, §3.5 shared mode). A key locked in share mode
// holds one wrapper lock of type SharedLock whose shared list has one entry
// per holding txn: SharedPessimisticLock after a shared pessimistic lock,
// SharedLock once prewritten. The compatibility rules are TiKV's: shared
// with shared is compatible (each txn adds its entry), shared with an
// exclusive lock of another txn conflicts either way (the request waits or
// fails with KeyIsLocked whose LockInfo lists the holders in
// shared_lock_infos). Reads ignore shared locks, as they ignore Lock-type
// ones. A txn's entry goes away on commit (a Lock record at the commit ts
// for a prewritten entry), rollback or pessimistic rollback; waiters are
// woken when the last entry leaves and the key is free.
//
// The wrapper's own start ts is 0, so code that compares a lock with a
// txn's start ts treats it as another txn's lock unless it asks
// [keyRec.lockOf] for the txn's entry.

// isShared reports whether l is a shared-lock wrapper.
func (l *lock) isShared() bool { return l != nil && l.typ == kvrpcpb.Op_SharedLock && l.startTS == 0 }

// sharedPessimistic reports whether l is a txn's shared pessimistic entry.
func (l *lock) sharedPessimistic() bool { return l.typ == kvrpcpb.Op_SharedPessimisticLock }

// lockOf returns the lock txn startTS holds on r: the exclusive lock or its
// entry in a shared wrapper, or nil.
func (r *keyRec) lockOf(startTS uint64) *lock {
	if r == nil || r.lock == nil {
		return nil
	}
	if !r.lock.isShared() {
		if r.lock.startTS == startTS {
			return r.lock
		}
		return nil
	}
	for _, s := range r.lock.shared {
		if s.startTS == startTS {
			return s
		}
	}
	return nil
}

// firstOtherHolder returns the start ts of a shared holder other than
// startTS (the txn a waiter waits for), or 0.
func (l *lock) firstOtherHolder(startTS uint64) uint64 {
	for _, s := range l.shared {
		if s.startTS != startTS {
			return s.startTS
		}
	}
	return 0
}

// putShared adds or replaces txn entry s in r's shared wrapper, creating the
// wrapper on a free key. Caller has saved r in b.
func (b *batch) putShared(r *keyRec, s *lock) {
	if r.lock == nil {
		r.lock = &lock{typ: kvrpcpb.Op_SharedLock}
	}
	w := r.lock
	for i, old := range w.shared {
		if old.startTS == s.startTS {
			w.shared[i] = s
			return
		}
	}
	w.shared = append(w.shared, s)
}

// removeShared drops txn startTS's entry from r's wrapper; the key is freed,
// and its waiters woken when the batch commits, once no entry is left.
// commitTS is the leaving txn's commit ts (0 = rolled back). Caller has
// saved r in b.
func (b *batch) removeShared(r *keyRec, startTS, commitTS uint64) {
	w := r.lock
	if !w.isShared() {
		return
	}
	i := slices.IndexFunc(w.shared, func(s *lock) bool { return s.startTS == startTS })
	if i < 0 {
		return
	}
	w.shared = slices.Delete(w.shared, i, i+1)
	if len(w.shared) == 0 {
		r.lock = nil
		b.wakes = append(b.wakes, wakeEvent{key: r.key, lockTS: startTS, commitTS: commitTS})
	}
}

// commitShared commits txn startTS's shared entry on r at commitTS: a
// prewritten entry leaves a Lock record (the key was read-locked, not
// changed), a pessimistic one nothing (§3.9). Caller has saved r in b.
func (b *batch) commitShared(r *keyRec, s *lock, commitTS uint64) {
	if !s.sharedPessimistic() {
		b.putWrite(r, write{kind: writeLock, startTS: s.startTS, commitTS: commitTS, txnSource: s.txnSource})
	}
	b.removeShared(r, s.startTS, commitTS)
}

// sharedInfo is the LockInfo of a shared wrapper on key: the holders go in
// shared_lock_infos, as TiKV reports them; maxTS > 0 keeps only holders
// that started at or below it.
func (l *lock) sharedInfo(key []byte, maxTS uint64) *kvrpcpb.LockInfo {
	li := &kvrpcpb.LockInfo{Key: append([]byte(nil), key...), LockType: kvrpcpb.Op_SharedLock}
	for _, s := range l.shared {
		if maxTS == 0 || s.startTS <= maxTS {
			li.SharedLockInfos = append(li.SharedLockInfos, s.info(key))
		}
	}
	return li
}

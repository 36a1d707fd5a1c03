package mvcc

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// lock is one lock-CF record (TiKV txn_types::Lock).
type lock struct {
	typ                kvrpcpb.Op // Put, Del, Lock or PessimisticLock
	primary            []byte
	startTS            uint64
	ttl                uint64
	shortValue         []byte
	hasShort           bool
	forUpdateTS        uint64
	txnSize            uint64
	minCommitTS        uint64
	useAsyncCommit     bool
	secondaries        [][]byte
	rollbackTS         []uint64
	txnSource          uint64
	lockedWithConflict bool
	generation         uint64
	// shared lists the holders of a shared-lock wrapper (typ SharedLock,
	// startTS 0); see shared.go. Entries are never changed in place.
	shared []*lock
	// shrinkOnly marks a wrapper an exclusive request was refused on: no
	// new txn may join the holders, so the exclusive waiter is not starved.
	shrinkOnly bool
}

func (l *lock) pessimistic() bool { return l.typ == kvrpcpb.Op_PessimisticLock }

// expired reports TiKV's TTL rule: physical(start)+ttl < physical(current).
func (l *lock) expired(currentTS uint64) bool {
	return satAdd(physical(l.startTS), l.ttl) < physical(currentTS)
}

// satAdd is a+b saturated at the maximum uint64.
func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return math.MaxUint64
	}
	return a + b
}

func physical(ts uint64) uint64 { return ts >> 18 }

// info builds the LockInfo a client sees for this lock on key.
func (l *lock) info(key []byte) *kvrpcpb.LockInfo {
	if l.isShared() {
		return l.sharedInfo(key, 0)
	}
	li := &kvrpcpb.LockInfo{
		PrimaryLock:     bytes.Clone(l.primary),
		LockVersion:     l.startTS,
		Key:             bytes.Clone(key),
		LockTtl:         l.ttl,
		TxnSize:         l.txnSize,
		LockType:        l.typ,
		LockForUpdateTs: l.forUpdateTS,
		UseAsyncCommit:  l.useAsyncCommit,
		MinCommitTs:     l.minCommitTS,
	}
	if len(l.secondaries) > 0 {
		li.Secondaries = make([][]byte, len(l.secondaries))
		for i, s := range l.secondaries {
			li.Secondaries[i] = bytes.Clone(s)
		}
	}
	return li
}

// writeKind is the type of a write-CF record.
type writeKind uint8

const (
	writePut writeKind = iota + 1
	writeDelete
	writeLock
	writeRollback
)

// protectedMarker is the short value that marks a protected rollback.
const protectedMarker = 'p'

// write is one write-CF record (TiKV txn_types::Write) at key@commitTS.
type write struct {
	kind       writeKind
	startTS    uint64
	commitTS   uint64
	shortValue []byte
	hasShort   bool
	overlapped bool   // has_overlapped_rollback
	gcFence    uint64 // 0 = none
	txnSource  uint64
}

func (w *write) protected() bool {
	return w.kind == writeRollback && w.hasShort && len(w.shortValue) == 1 && w.shortValue[0] == protectedMarker
}

// fenced reports the gc_fence rule: the version counts as absent at readTS.
func (w *write) fenced(readTS uint64) bool { return w.gcFence != 0 && w.gcFence <= readTS }

func writeKindOf(op kvrpcpb.Op) writeKind {
	switch op {
	case kvrpcpb.Op_Put:
		return writePut
	case kvrpcpb.Op_Del:
		return writeDelete
	default:
		return writeLock
	}
}

// txnOutcome is what a txn's write records say about it on one key (§1.6).
type txnOutcome int

const (
	outcomeNone       txnOutcome = iota // no record
	outcomeCommitted                    // committed at commitTS
	outcomeRolledBack                   // rollback record or overlapped rollback
	outcomeOverlapped                   // no record, but another txn committed at start_ts
)

// txnRecord looks up txn startTS on r, scanning from the newest write down to
// the first record with commit ts < startTS.
func (r *keyRec) txnRecord(startTS uint64) (txnOutcome, uint64) {
	if r == nil {
		return outcomeNone, 0
	}
	out := outcomeNone
	for i := 0; i < len(r.writes); i++ {
		w := r.w(i)
		if w.commitTS < startTS {
			break
		}
		if w.startTS == startTS {
			if w.kind == writeRollback {
				return outcomeRolledBack, 0
			}
			return outcomeCommitted, w.commitTS
		}
		if w.commitTS == startTS {
			if w.overlapped {
				return outcomeRolledBack, 0
			}
			out = outcomeOverlapped
		}
	}
	return out, 0
}

// latestData returns the newest Put or Delete version with commit ts <=
// beforeTS (Lock and Rollback skipped); ok is false when there is none or it is
// gc-fenced at readTS.
func (r *keyRec) latestData(beforeTS, readTS uint64) (w *write, ok bool) {
	if r == nil {
		return nil, false
	}
	for i := 0; i < len(r.writes); i++ {
		w := r.w(i)
		if w.commitTS > beforeTS {
			continue
		}
		switch w.kind {
		case writePut, writeDelete:
			if w.fenced(readTS) {
				return nil, false
			}
			return w, true
		}
	}
	return nil, false
}

// exists reports whether the newest data version at or below ts is a Put.
func (r *keyRec) existsAt(ts uint64) (*write, bool) {
	w, ok := r.latestData(ts, ts)
	if !ok || w.kind != writePut {
		return w, false
	}
	return w, true
}

// writeValue returns the value of a Put version.
func (r *keyRec) writeValue(w *write) ([]byte, bool) {
	return r.value(w.shortValue, w.hasShort, w.startTS)
}

// Key error constructors.

func abortErr(msg string) *kvrpcpb.KeyError { return &kvrpcpb.KeyError{Abort: msg} }

func lockedErr(key []byte, l *lock) *kvrpcpb.KeyError {
	return &kvrpcpb.KeyError{Locked: l.info(key)}
}

func conflictErr(reason kvrpcpb.WriteConflict_Reason, startTS, conflictTS, conflictCommitTS uint64, key, primary []byte) *kvrpcpb.KeyError {
	return &kvrpcpb.KeyError{
		Conflict: &kvrpcpb.WriteConflict{
			StartTs: startTS, ConflictTs: conflictTS, ConflictCommitTs: conflictCommitTS,
			Key: bytes.Clone(key), Primary: bytes.Clone(primary), Reason: reason,
		},
		Retryable: fmt.Sprintf("write conflict (%s): start_ts %d, conflict_start_ts %d, conflict_commit_ts %d, key %q",
			reason, startTS, conflictTS, conflictCommitTS, key),
	}
}

func alreadyExistErr(key []byte) *kvrpcpb.KeyError {
	return &kvrpcpb.KeyError{AlreadyExist: &kvrpcpb.AlreadyExist{Key: bytes.Clone(key)}}
}

func txnLockNotFoundErr(startTS uint64, key []byte) *kvrpcpb.KeyError {
	return &kvrpcpb.KeyError{
		TxnLockNotFound: &kvrpcpb.TxnLockNotFound{Key: bytes.Clone(key)},
		Retryable:       fmt.Sprintf("txn lock not found: start_ts %d, key %q", startTS, key),
	}
}

func txnNotFoundErr(startTS uint64, primary []byte) *kvrpcpb.KeyError {
	return &kvrpcpb.KeyError{TxnNotFound: &kvrpcpb.TxnNotFound{StartTs: startTS, PrimaryKey: bytes.Clone(primary)}}
}

func commitTSExpiredErr(startTS, commitTS, minCommitTS uint64, key []byte) *kvrpcpb.KeyError {
	return &kvrpcpb.KeyError{CommitTsExpired: &kvrpcpb.CommitTsExpired{
		StartTs: startTS, AttemptedCommitTs: commitTS, Key: bytes.Clone(key), MinCommitTs: minCommitTS,
	}}
}

func assertionErr(startTS uint64, key []byte, a kvrpcpb.Assertion, w *write) *kvrpcpb.KeyError {
	af := &kvrpcpb.AssertionFailed{StartTs: startTS, Key: bytes.Clone(key), Assertion: a}
	if w != nil {
		af.ExistingStartTs, af.ExistingCommitTs = w.startTS, w.commitTS
	}
	return &kvrpcpb.KeyError{AssertionFailed: af}
}

func primaryMismatchErr(key []byte, l *lock) *kvrpcpb.KeyError {
	return &kvrpcpb.KeyError{PrimaryMismatch: &kvrpcpb.PrimaryMismatch{LockInfo: l.info(key)}}
}

// keyHash is the hash used for deadlock key hashes (TiKV uses farmhash; any
// stable 64-bit hash serves the client, which only compares them).
func keyHash(key []byte) uint64 {
	h := fnv.New64a()
	h.Write(key)
	return h.Sum64()
}

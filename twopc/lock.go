package twopc

import (
	"fmt"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tso"
)

// LockType is the kind of a lock.
type LockType uint8

// Lock types.
const (
	// LockPut is a prewritten put.
	LockPut LockType = iota
	// LockDelete is a prewritten delete.
	LockDelete
	// LockLock is a prewritten lock-only mutation.
	LockLock
	// LockPessimistic is a pessimistic lock not yet prewritten.
	LockPessimistic
	// LockOther is any other kind (an empty shared-lock wrapper).
	LockOther
	// LockShared is one transaction's prewritten entry in a key's shared
	// lock (Op_SharedLock).
	LockShared
	// LockSharedPessimistic is one transaction's shared pessimistic lock,
	// not yet prewritten (Op_SharedPessimisticLock).
	LockSharedPessimistic
)

// String returns the lock type's name.
func (t LockType) String() string {
	switch t {
	case LockPut:
		return "put"
	case LockDelete:
		return "delete"
	case LockLock:
		return "lock"
	case LockPessimistic:
		return "pessimistic"
	case LockShared:
		return "shared"
	case LockSharedPessimistic:
		return "shared-pessimistic"
	}
	return "other"
}

// Lock is another transaction's lock met by a command or a read.
type Lock struct {
	Key     []byte
	Primary []byte
	StartTS tso.Timestamp
	// TTL counts from the physical time of StartTS.
	TTL            time.Duration
	TxnSize        uint64
	Type           LockType
	UseAsyncCommit bool
	ForUpdateTS    tso.Timestamp
	MinCommitTS    tso.Timestamp
}

// String describes the lock.
func (l *Lock) String() string {
	return fmt.Sprintf("lock{key %q, primary %q, txn %d, ttl %v, %s, async %v}", l.Key, l.Primary, l.StartTS, l.TTL, l.Type, l.UseAsyncCommit)
}

// pessimistic reports whether the lock was never prewritten: resolving it
// removes it without a commit or rollback record.
func (t LockType) pessimistic() bool { return t == LockPessimistic || t == LockSharedPessimistic }

// NewLock converts the LockInfo of a KeyIsLocked error. A shared-lock
// wrapper (LockType SharedLock, no start ts of its own) becomes its first
// holder's lock; [NewLocks] returns every holder.
func NewLock(info *kvrpcpb.LockInfo) *Lock {
	if hs := info.GetSharedLockInfos(); len(hs) > 0 {
		return sharedHolder(info, hs[0])
	}
	return lockFromInfo(info)
}

// NewLocks converts the LockInfo of a KeyIsLocked error (or of ScanLock)
// into the locks to resolve: one per holder for a shared-lock wrapper,
// each a lock of its own transaction, else the one lock.
func NewLocks(info *kvrpcpb.LockInfo) []*Lock { return appendLocks(nil, info) }

// appendLocks appends the locks info stands for to locks (see [NewLocks]).
func appendLocks(locks []*Lock, info *kvrpcpb.LockInfo) []*Lock {
	hs := info.GetSharedLockInfos()
	if len(hs) == 0 {
		return append(locks, lockFromInfo(info))
	}
	for _, h := range hs {
		locks = append(locks, sharedHolder(info, h))
	}
	return locks
}

// sharedHolder is holder h of the shared-lock wrapper info, on the
// wrapper's key (TiKV may leave a holder's own key empty).
func sharedHolder(info, h *kvrpcpb.LockInfo) *Lock {
	l := lockFromInfo(h)
	if len(l.Key) == 0 {
		l.Key = info.GetKey()
	}
	switch h.GetLockType() {
	case kvrpcpb.Op_SharedPessimisticLock, kvrpcpb.Op_PessimisticLock:
		l.Type = LockSharedPessimistic
	default:
		l.Type = LockShared
	}
	return l
}

func lockFromInfo(info *kvrpcpb.LockInfo) *Lock {
	l := &Lock{
		Key:            info.GetKey(),
		Primary:        info.GetPrimaryLock(),
		StartTS:        tso.Timestamp(info.GetLockVersion()),
		TTL:            time.Duration(info.GetLockTtl()) * time.Millisecond,
		TxnSize:        info.GetTxnSize(),
		UseAsyncCommit: info.GetUseAsyncCommit(),
		ForUpdateTS:    tso.Timestamp(info.GetLockForUpdateTs()),
		MinCommitTS:    tso.Timestamp(info.GetMinCommitTs()),
	}
	switch info.GetLockType() {
	case kvrpcpb.Op_Put, kvrpcpb.Op_Insert:
		l.Type = LockPut
	case kvrpcpb.Op_Del:
		l.Type = LockDelete
	case kvrpcpb.Op_Lock:
		l.Type = LockLock
	case kvrpcpb.Op_PessimisticLock:
		l.Type = LockPessimistic
	case kvrpcpb.Op_SharedPessimisticLock:
		l.Type = LockSharedPessimistic
	case kvrpcpb.Op_SharedLock:
		if l.StartTS != 0 { // a holder's entry; the wrapper has no ts
			l.Type = LockShared
		} else {
			l.Type = LockOther
		}
	default:
		l.Type = LockOther
	}
	return l
}

// expired reports whether a lock of startTS with ttl has expired at now,
// TiKV's rule: physical(start) + ttl < physical(now).
func expired(startTS tso.Timestamp, ttl time.Duration, now tso.Timestamp) bool {
	return startTS.Physical()+ttl.Milliseconds() < now.Physical()
}

// untilExpired is how long until a lock of startTS with ttl expires at now
// (0 if it has).
func untilExpired(startTS tso.Timestamp, ttl time.Duration, now tso.Timestamp) time.Duration {
	ms := startTS.Physical() + ttl.Milliseconds() - now.Physical()
	if ms < 0 {
		return 0
	}
	return time.Duration(ms+1) * time.Millisecond
}

package memdb

import "iter"

// Op is what a committer does with a buffered key in prewrite.
type Op uint8

// The mutation kinds, matching kvrpcpb.Op values a committer sends.
const (
	// OpPut writes the value.
	OpPut Op = iota + 1
	// OpInsert writes the value and fails if the key exists
	// (presume-not-exists).
	OpInsert
	// OpDelete writes a delete.
	OpDelete
	// OpLock writes a lock record only (a key locked but not changed).
	OpLock
	// OpSharedLock writes a shared lock record only.
	OpSharedLock
	// OpCheckNotExists checks in prewrite that the key does not exist and
	// leaves no lock; the key is prewrite-only.
	OpCheckNotExists
)

// String returns the kvrpcpb spelling of the op.
func (o Op) String() string {
	switch o {
	case OpPut:
		return "Put"
	case OpInsert:
		return "Insert"
	case OpDelete:
		return "Del"
	case OpLock:
		return "Lock"
	case OpSharedLock:
		return "SharedLock"
	case OpCheckNotExists:
		return "CheckNotExists"
	}
	return "Op(?)"
}

// Mutation is one key a commit must send. Key and Value point into the
// buffer (no copy); see [MemDB] for how long they stay valid.
type Mutation struct {
	Key   []byte
	Value []byte // the value of OpPut and OpInsert, nil otherwise
	Op    Op
	Flags Flags
}

// Mutations returns the keys a commit sends, in key order, with the op
// each one needs, decided from its write and flags as client-go does:
//
//   - a value: OpInsert if the key is presumed absent, else OpPut;
//   - a tombstone: OpCheckNotExists for a presumed-absent key of an
//     optimistic transaction (a delete of its own insert must still find
//     the key absent); else, for a key written by an insert, a lock if it is
//     pessimistically locked and nothing otherwise; else OpDelete;
//   - flags only: a lock (shared or exclusive) if the key is
//     pessimistically locked, nothing otherwise.
//
// Keys flagged FlagIgnoredIn2PC are skipped. The committer marks
// OpCheckNotExists keys prewrite-only (SetPrewriteOnly) after the loop if it
// needs to read that back; writing inside the loop ends it.
func (db *MemDB) Mutations(pessimistic bool) iter.Seq[Mutation] {
	return func(yield func(Mutation) bool) {
		var it Iterator
		for db.initIter(&it, nil, nil, false, withTombstones|withFlagsOnly); it.Valid(); it.Next() {
			e := it.Entry()
			if e.Flags&FlagIgnoredIn2PC != 0 {
				continue
			}
			m := Mutation{Key: e.Key, Flags: e.Flags}
			switch {
			case !e.written:
				if !e.Flags.Locked() {
					continue
				}
				m.Op = lockOp(e.Flags)
			case !e.deleted:
				m.Value = e.Value
				m.Op = OpPut
				if e.Flags.PresumeKeyNotExists() {
					m.Op = OpInsert
				}
			case !pessimistic && e.Flags.PresumeKeyNotExists():
				m.Op = OpCheckNotExists
			case e.Flags&FlagNewlyInserted != 0:
				if !e.Flags.Locked() {
					continue
				}
				m.Op = lockOp(e.Flags)
			default:
				m.Op = OpDelete
			}
			if !yield(m) {
				return
			}
		}
	}
}

func lockOp(f Flags) Op {
	if f.LockedInShareMode() {
		return OpSharedLock
	}
	return OpLock
}

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
			op, ok := opFor(e, pessimistic)
			if !ok {
				continue
			}
			m := Mutation{Key: e.Key, Op: op, Flags: e.Flags}
			if op == OpPut || op == OpInsert {
				m.Value = e.Value
			}
			if !yield(m) {
				return
			}
		}
	}
}

// opFor decides the op for one entry (see Mutations); ok is false for an
// entry the commit skips.
func opFor(e Entry, pessimistic bool) (Op, bool) {
	switch {
	case e.Flags&FlagIgnoredIn2PC != 0:
		return 0, false
	case !e.written:
		if !e.Flags.Locked() {
			return 0, false
		}
		return lockOp(e.Flags), true
	case !e.deleted:
		if e.Flags.PresumeKeyNotExists() {
			return OpInsert, true
		}
		return OpPut, true
	case !pessimistic && e.Flags.PresumeKeyNotExists():
		return OpCheckNotExists, true
	case e.Flags&FlagNewlyInserted != 0:
		if !e.Flags.Locked() {
			return 0, false
		}
		return lockOp(e.Flags), true
	}
	return OpDelete, true
}

// MutationSet is a buffer's mutations in key order with random access by
// index, the shape a committer that groups keys by region wants. It holds
// 5 bytes per mutation (the entry's address and the op); keys and values
// are read from the buffer, never copied. It is valid while the buffer is
// not written; the committer must finish with it before the transaction
// writes again.
type MutationSet struct {
	db   *MemDB
	ents []addr
	ops  []Op
	size int
}

// MutationSet collects the mutations [MemDB.Mutations] yields into a
// MutationSet.
func (db *MemDB) MutationSet(pessimistic bool) *MutationSet {
	ms := &MutationSet{db: db, ents: make([]addr, 0, db.len), ops: make([]Op, 0, db.len)}
	var it Iterator
	for db.initIter(&it, nil, nil, false, withTombstones|withFlagsOnly); it.Valid(); it.Next() {
		e := it.db.entry(it.cur)
		op, ok := opFor(e, pessimistic)
		if !ok {
			continue
		}
		ms.ents = append(ms.ents, it.cur)
		ms.ops = append(ms.ops, op)
		ms.size += len(e.Key)
		if op == OpPut || op == OpInsert {
			ms.size += len(e.Value)
		}
	}
	return ms
}

// Len returns the number of mutations.
func (ms *MutationSet) Len() int { return len(ms.ents) }

// Key returns the key of mutation i.
func (ms *MutationSet) Key(i int) []byte { return ms.db.idx.key(ms.ents[i]) }

// Value returns the value of mutation i if it is an OpPut or OpInsert, and
// nil otherwise.
func (ms *MutationSet) Value(i int) []byte {
	if op := ms.ops[i]; op != OpPut && op != OpInsert {
		return nil
	}
	return ms.db.entry(ms.ents[i]).Value
}

// Op returns the op of mutation i.
func (ms *MutationSet) Op(i int) Op { return ms.ops[i] }

// Flags returns the key flags of mutation i.
func (ms *MutationSet) Flags(i int) Flags { return ms.db.entryFlags(ms.ents[i]) & userFlags }

// Size returns the bytes of keys and values the mutations carry.
func (ms *MutationSet) Size() int { return ms.size }

func lockOp(f Flags) Op {
	if f.LockedInShareMode() {
		return OpSharedLock
	}
	return OpLock
}

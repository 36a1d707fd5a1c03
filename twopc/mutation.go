package twopc

import (
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// Op is what a mutation does to its key.
type Op uint8

// Mutation ops.
const (
	// OpPut writes the value.
	OpPut Op = iota
	// OpDelete deletes the key.
	OpDelete
	// OpLock only locks the key (a read the transaction depends on); it
	// commits as a Lock record that readers skip.
	OpLock
	// OpInsert writes the value and fails with [KeyExistsError] if the key
	// exists.
	OpInsert
	// OpCheckNotExists writes nothing and fails with [KeyExistsError] if the
	// key exists. It is never chosen as the primary.
	OpCheckNotExists
	// OpSharedLock only locks the key in share mode (prewrite of a key the
	// transaction holds a shared pessimistic lock on): other transactions
	// may hold it shared at the same time, none exclusively. It commits as a
	// Lock record, like OpLock. TiKV never lets a shared-locked key be a
	// primary, so it is never chosen as one, and a transaction with shared
	// locks commits with plain 2PC (no async commit, no 1PC), as client-go
	// does.
	OpSharedLock
)

// String returns the op's name.
func (o Op) String() string {
	switch o {
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	case OpLock:
		return "lock"
	case OpInsert:
		return "insert"
	case OpCheckNotExists:
		return "check-not-exists"
	case OpSharedLock:
		return "shared-lock"
	}
	return "op(?)"
}

func (o Op) pb() kvrpcpb.Op {
	switch o {
	case OpDelete:
		return kvrpcpb.Op_Del
	case OpLock:
		return kvrpcpb.Op_Lock
	case OpInsert:
		return kvrpcpb.Op_Insert
	case OpCheckNotExists:
		return kvrpcpb.Op_CheckNotExists
	case OpSharedLock:
		return kvrpcpb.Op_SharedLock
	}
	return kvrpcpb.Op_Put
}

// writesLock reports whether the op leaves a lock behind at prewrite.
func (o Op) writesLock() bool { return o != OpCheckNotExists }

// canBePrimary reports whether a key with this op may be the primary: it
// must hold an exclusive lock, the one CheckTxnStatus reads.
func (o Op) canBePrimary() bool { return o != OpCheckNotExists && o != OpSharedLock }

// Assertion is a per-key existence assertion checked by TiKV at prewrite
// (see [WithAssertionLevel]).
type Assertion uint8

// Assertions.
const (
	// AssertNone checks nothing.
	AssertNone Assertion = iota
	// AssertExist requires the key to exist before this transaction.
	AssertExist
	// AssertNotExist requires the key to be absent before this transaction.
	AssertNotExist
)

// String returns the assertion's name.
func (a Assertion) String() string {
	switch a {
	case AssertExist:
		return "exist"
	case AssertNotExist:
		return "not-exist"
	}
	return "none"
}

func (a Assertion) pb() kvrpcpb.Assertion {
	switch a {
	case AssertExist:
		return kvrpcpb.Assertion_Exist
	case AssertNotExist:
		return kvrpcpb.Assertion_NotExist
	}
	return kvrpcpb.Assertion_None
}

func assertionFromPB(a kvrpcpb.Assertion) Assertion {
	switch a {
	case kvrpcpb.Assertion_Exist:
		return AssertExist
	case kvrpcpb.Assertion_NotExist:
		return AssertNotExist
	}
	return AssertNone
}

// Flags are per-mutation bits for pessimistic transactions.
type Flags uint8

// Mutation flags.
const (
	// FlagPessimisticLock marks a key this transaction holds a pessimistic
	// lock on: prewrite checks the lock is still there
	// (DO_PESSIMISTIC_CHECK).
	FlagPessimisticLock Flags = 1 << iota
	// FlagNeedConstraintCheck marks a key whose uniqueness check was
	// deferred to prewrite (lazy uniqueness check, DO_CONSTRAINT_CHECK).
	FlagNeedConstraintCheck
)

// Mutations is the set of writes to commit. A write buffer implements it
// over its own storage, so nothing is copied; [MutationSlice] is the plain
// form. Keys must be distinct. Implementations must not change while a
// commit that uses them runs.
type Mutations interface {
	Len() int
	Key(i int) []byte
	// Value is the value of an OpPut or OpInsert; ignored otherwise.
	Value(i int) []byte
	Op(i int) Op
	Assertion(i int) Assertion
	Flags(i int) Flags
}

// Mutation is one write of a [MutationSlice].
type Mutation struct {
	Op        Op
	Key       []byte
	Value     []byte
	Assertion Assertion
	Flags     Flags
}

// MutationSlice is a [Mutations] backed by a slice.
type MutationSlice []Mutation

// Len implements Mutations.
func (s MutationSlice) Len() int { return len(s) }

// Key implements Mutations.
func (s MutationSlice) Key(i int) []byte { return s[i].Key }

// Value implements Mutations.
func (s MutationSlice) Value(i int) []byte { return s[i].Value }

// Op implements Mutations.
func (s MutationSlice) Op(i int) Op { return s[i].Op }

// Assertion implements Mutations.
func (s MutationSlice) Assertion(i int) Assertion { return s[i].Assertion }

// Flags implements Mutations.
func (s MutationSlice) Flags(i int) Flags { return s[i].Flags }

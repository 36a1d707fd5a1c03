package sicheck

import (
	"fmt"
	"strings"
)

// OpKind is the kind of a micro-operation.
type OpKind uint8

const (
	// OpAppend appends Op.Value to the list under Op.Key.
	OpAppend OpKind = iota + 1
	// OpRead reads the whole list under Op.Key into Op.List.
	OpRead
)

// Op is one micro-operation of a transaction. For OpRead, List is the list
// observed (empty for a missing key).
type Op struct {
	Kind  OpKind
	Key   string
	Value int   // OpAppend: the appended element, unique per key
	List  []int // OpRead: the observed list
}

// Append returns an append micro-operation.
func Append(key string, v int) Op { return Op{Kind: OpAppend, Key: key, Value: v} }

// Read returns a read micro-operation that observed list.
func Read(key string, list ...int) Op { return Op{Kind: OpRead, Key: key, List: list} }

// String formats op as "a(k,v)" or "r(k)=[...]".
func (op Op) String() string {
	if op.Kind == OpAppend {
		return fmt.Sprintf("a(%s,%d)", op.Key, op.Value)
	}
	return fmt.Sprintf("r(%s)=%v", op.Key, op.List)
}

// Outcome is what the database said about a transaction's commit.
type Outcome uint8

const (
	// Committed: the commit succeeded.
	Committed Outcome = iota + 1
	// Aborted: the transaction certainly did not take effect.
	Aborted
	// Unknown: the commit answer was lost; the transaction may or may not
	// have taken effect.
	Unknown
)

// String returns "committed", "aborted" or "unknown".
func (o Outcome) String() string {
	switch o {
	case Committed:
		return "committed"
	case Aborted:
		return "aborted"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Txn is one transaction of a history. StartTS and CommitTS are zero when
// not known; the lost-write check needs both.
type Txn struct {
	ID       int
	Ops      []Op
	Outcome  Outcome
	StartTS  uint64
	CommitTS uint64
}

// String formats t as "T<id>(outcome)[ops]".
func (t Txn) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "T%d(%s)[", t.ID, t.Outcome)
	for i, op := range t.Ops {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(op.String())
	}
	b.WriteByte(']')
	return b.String()
}

// History is the set of transactions a run produced, in any order; IDs must
// be unique.
type History []Txn

package sicheck

import (
	"fmt"
	"strings"
)

// Kind names an anomaly.
type Kind uint8

const (
	// G0 is a cycle of ww edges only (dirty write).
	G0 Kind = iota + 1
	// G1a is a committed read of an element an aborted transaction appended.
	G1a
	// G1b is a committed read of a state in the middle of another
	// transaction's appends to the same key.
	G1b
	// G1c is a cycle of ww and wr edges with at least one wr edge.
	G1c
	// GSingle is a cycle with exactly one rw edge (read skew).
	GSingle
	// IncompatibleOrder is a pair of reads of one key neither of which is a
	// prefix of the other.
	IncompatibleOrder
	// Duplicate is a read that lists the same element twice.
	Duplicate
	// Garbage is a read that lists an element nobody appended.
	Garbage
	// LostWrite is a committed append missing from its key's version order
	// although a transaction that started after it committed read the key.
	LostWrite
)

var kindNames = [...]string{
	G0: "G0", G1a: "G1a", G1b: "G1b", G1c: "G1c", GSingle: "G-single",
	IncompatibleOrder: "incompatible-order", Duplicate: "duplicate",
	Garbage: "garbage", LostWrite: "lost-write",
}

// String returns the anomaly's usual name, e.g. "G-single".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// EdgeKind is a set of dependency kinds between two transactions.
type EdgeKind uint8

const (
	// WW is a write-write dependency: the source's element directly precedes
	// the target's in a key's version order.
	WW EdgeKind = 1 << iota
	// WR is a write-read dependency: the target read a list whose last
	// element the source appended.
	WR
	// RW is an anti-dependency: the source read a version that the target's
	// append directly follows.
	RW
)

// String returns "ww", "wr", "rw", or the members joined by "+".
func (e EdgeKind) String() string {
	var parts []string
	for _, k := range []EdgeKind{WW, WR, RW} {
		if e&k != 0 {
			parts = append(parts, [...]string{WW: "ww", WR: "wr", RW: "rw"}[k])
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// Step is one edge of a reported cycle.
type Step struct {
	From, To int // transaction IDs
	Kind     EdgeKind
	Key      string // the key that gave rise to the edge
}

// String formats s as "T1 -ww(k)-> T2".
func (s Step) String() string {
	return fmt.Sprintf("T%d -%s(%s)-> T%d", s.From, s.Kind, s.Key, s.To)
}

// Anomaly is one violation found by [Check].
type Anomaly struct {
	Kind Kind
	// Txns are the IDs of the transactions involved: for a cycle, in cycle
	// order; for a bad read, the reader first, then the writer or the
	// reader it disagrees with; for a lost write, the writer then the reader.
	Txns  []int
	Key   string
	Value int    // the element concerned, when there is one
	Cycle []Step // for G0, G1c and G-single
	// Reads are the conflicting lists, for IncompatibleOrder.
	Reads [][]int
}

// String describes a in one line.
func (a Anomaly) String() string {
	var b strings.Builder
	b.WriteString(a.Kind.String())
	switch a.Kind {
	case G0, G1c, GSingle:
		for i, s := range a.Cycle {
			if i == 0 {
				fmt.Fprintf(&b, ": T%d", s.From)
			}
			fmt.Fprintf(&b, " -%s(%s)-> T%d", s.Kind, s.Key, s.To)
		}
	case IncompatibleOrder:
		x, y := a.Reads[0], a.Reads[1]
		p := 0
		for p < len(x) && p < len(y) && x[p] == y[p] {
			p++
		}
		fmt.Fprintf(&b, ": key %q: after %d common elements T%d read %s, T%d read %s",
			a.Key, p, a.Txns[0], abbrev(x[p:]), a.Txns[1], abbrev(y[p:]))
	case Duplicate, Garbage:
		fmt.Fprintf(&b, ": T%d read element %d of key %q", a.Txns[0], a.Value, a.Key)
	case G1a, G1b:
		fmt.Fprintf(&b, ": T%d read element %d of key %q appended by T%d", a.Txns[0], a.Value, a.Key, a.Txns[1])
	case LostWrite:
		fmt.Fprintf(&b, ": T%d appended %d to key %q, missing from T%d's later read", a.Txns[0], a.Value, a.Key, a.Txns[1])
	}
	return b.String()
}

// MaxExamples is how many anomalies of each kind a [Result] keeps; the
// counts include all of them.
const MaxExamples = 16

// Result is what [Check] found.
type Result struct {
	// Anomalies holds up to MaxExamples of each kind, in a stable order.
	Anomalies []Anomaly
	// Counts is the number of anomalies of each kind found.
	Counts map[Kind]int
	// Txns is the number of transactions in the dependency graph; Edges the
	// number of ordered pairs with at least one dependency.
	Txns, Edges int
}

// Valid reports whether the history showed no anomaly.
func (r *Result) Valid() bool { return len(r.Counts) == 0 }

// Of returns the reported anomalies of kind k.
func (r *Result) Of(k Kind) []Anomaly {
	var out []Anomaly
	for _, a := range r.Anomalies {
		if a.Kind == k {
			out = append(out, a)
		}
	}
	return out
}

// String summarises r: the counts per kind and the examples, one a line.
func (r *Result) String() string {
	if r.Valid() {
		return fmt.Sprintf("valid: %d txns, %d edges", r.Txns, r.Edges)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid: %d txns, %d edges;", r.Txns, r.Edges)
	for k := G0; k <= LostWrite; k++ {
		if n := r.Counts[k]; n > 0 {
			fmt.Fprintf(&b, " %s=%d", k, n)
		}
	}
	for _, a := range r.Anomalies {
		b.WriteString("\n  ")
		b.WriteString(a.String())
	}
	return b.String()
}

func (r *Result) add(a Anomaly) {
	if r.Counts == nil {
		r.Counts = make(map[Kind]int)
	}
	r.Counts[a.Kind]++
	if r.Counts[a.Kind] <= MaxExamples {
		r.Anomalies = append(r.Anomalies, a)
	}
}

// abbrev formats a list, eliding all but its first few elements.
func abbrev(l []int) string {
	const show = 6
	if len(l) <= show {
		return fmt.Sprint(l)
	}
	return fmt.Sprintf("%v…(%d more)]", strings.TrimSuffix(fmt.Sprint(l[:show]), "]"), len(l)-show)
}

package sicheck

import (
	"errors"
	"fmt"
	"slices"
)

// ErrBadHistory is returned by [Check] for a history it cannot interpret:
// repeated transaction IDs, an unknown op kind or outcome, or an element
// appended twice to one key.
var ErrBadHistory = errors.New("sicheck: bad history")

// writerRef locates the append of one element.
type writerRef struct {
	txn  int // index into the history
	last bool
}

type elemKey struct {
	key string
	v   int
}

// read is one observation of a key by a committed or unknown transaction.
type read struct {
	txn  int
	list []int // as observed
	ext  []int // list without the reader's own trailing appends
}

type checker struct {
	h       History
	writers map[elemKey]writerRef
	reads   map[string][]read
	keys    []string // sorted, for a stable report
	order   map[string][]int
	pos     map[elemKey]int // position in the key's version order
	g       graph
	res     Result
}

// Check infers version orders and the dependency graph from h and reports
// every anomaly snapshot isolation forbids (see the package doc). It fails
// only with [ErrBadHistory].
func Check(h History) (*Result, error) {
	c := &checker{
		h:       h,
		writers: make(map[elemKey]writerRef),
		reads:   make(map[string][]read),
		order:   make(map[string][]int),
		pos:     make(map[elemKey]int),
	}
	if err := c.index(); err != nil {
		return nil, err
	}
	c.inferOrders()
	c.checkReads()
	c.checkLostWrites()
	c.buildGraph()
	c.findCycles()
	c.res.Txns = c.g.nodes()
	c.res.Edges = len(c.g.info)
	return &c.res, nil
}

func (c *checker) observes(i int) bool {
	o := c.h[i].Outcome
	return o == Committed || o == Unknown
}

func (c *checker) index() error {
	ids := make(map[int]bool, len(c.h))
	for i, t := range c.h {
		if ids[t.ID] {
			return fmt.Errorf("%w: transaction ID %d repeated", ErrBadHistory, t.ID)
		}
		ids[t.ID] = true
		if t.Outcome < Committed || t.Outcome > Unknown {
			return fmt.Errorf("%w: T%d has outcome %d", ErrBadHistory, t.ID, t.Outcome)
		}
		lastAppend := make(map[string]int)
		for j, op := range t.Ops {
			switch op.Kind {
			case OpAppend:
				ek := elemKey{op.Key, op.Value}
				if _, dup := c.writers[ek]; dup {
					return fmt.Errorf("%w: element %d appended to key %q twice", ErrBadHistory, op.Value, op.Key)
				}
				c.writers[ek] = writerRef{txn: i}
				lastAppend[op.Key] = j
			case OpRead:
			default:
				return fmt.Errorf("%w: T%d op %d has kind %d", ErrBadHistory, t.ID, j, op.Kind)
			}
		}
		for k, j := range lastAppend {
			ek := elemKey{k, t.Ops[j].Value}
			w := c.writers[ek]
			w.last = true
			c.writers[ek] = w
		}
	}
	for i, t := range c.h {
		if !c.observes(i) {
			continue
		}
		for _, op := range t.Ops {
			if op.Kind != OpRead {
				continue
			}
			ext := op.List
			for len(ext) > 0 {
				w, ok := c.writers[elemKey{op.Key, ext[len(ext)-1]}]
				if !ok || w.txn != i {
					break
				}
				ext = ext[:len(ext)-1]
			}
			c.reads[op.Key] = append(c.reads[op.Key], read{txn: i, list: op.List, ext: ext})
		}
	}
	for k := range c.reads {
		c.keys = append(c.keys, k)
	}
	slices.Sort(c.keys)
	return nil
}

// checkReads reports duplicates, garbage, aborted reads (G1a) and
// intermediate reads (G1b): facts about single reads. Reads that are a
// prefix of their key's order share its faults, found once per key, so
// the cost is linear in the number of reads, not in their total length.
func (c *checker) checkReads() {
	type seenKey struct {
		txn int
		ek  elemKey
	}
	reported := make(map[seenKey]bool)
	report := func(k Kind, r read, key string, v int) {
		s := seenKey{r.txn, elemKey{key, v}}
		if reported[s] {
			return
		}
		reported[s] = true
		a := Anomaly{Kind: k, Txns: []int{c.h[r.txn].ID}, Key: key, Value: v}
		if k == G1a {
			a.Txns = append(a.Txns, c.h[c.writers[s.ek].txn].ID)
		}
		c.res.add(a)
	}
	for _, k := range c.keys {
		order := c.order[k]
		orderFaults := c.faults(k, order, -1)
		for _, r := range c.reads[k] {
			if isPrefix(r.ext, order) {
				for _, f := range orderFaults {
					if f.pos >= len(r.ext) {
						break
					}
					report(f.kind, r, k, order[f.pos])
				}
			} else {
				for _, f := range c.faults(k, r.ext, r.txn) {
					report(f.kind, r, k, r.ext[f.pos])
				}
			}
			if len(r.ext) == 0 {
				continue
			}
			v := r.ext[len(r.ext)-1]
			w, ok := c.writers[elemKey{k, v}]
			if ok && w.txn != r.txn && !w.last && c.observes(w.txn) {
				c.res.add(Anomaly{Kind: G1b, Txns: []int{c.h[r.txn].ID, c.h[w.txn].ID}, Key: k, Value: v})
			}
		}
	}
}

type fault struct {
	pos  int
	kind Kind
}

// faults lists, in position order, the elements of l (a read of k by
// history index reader, or -1 for any reader) that are duplicates, garbage
// or appended by an aborted transaction.
func (c *checker) faults(k string, l []int, reader int) []fault {
	var out []fault
	seen := make(map[int]bool, len(l))
	for i, v := range l {
		if seen[v] {
			out = append(out, fault{i, Duplicate})
			continue
		}
		seen[v] = true
		w, ok := c.writers[elemKey{k, v}]
		switch {
		case !ok:
			out = append(out, fault{i, Garbage})
		case c.h[w.txn].Outcome == Aborted && w.txn != reader:
			out = append(out, fault{i, G1a})
		}
	}
	return out
}

// inferOrders takes each key's longest external read as its version order
// and reports external reads that are not a prefix of it. External reads
// leave out the reader's own trailing appends: those are not a version
// anyone else could see unless the reader commits, and whether an unknown
// transaction did is not known.
func (c *checker) inferOrders() {
	for _, k := range c.keys {
		rs := c.reads[k]
		longest := 0
		for i, r := range rs {
			if len(r.ext) > len(rs[longest].ext) {
				longest = i
			}
		}
		order := rs[longest].ext
		c.order[k] = order
		for i := len(order) - 1; i >= 0; i-- {
			c.pos[elemKey{k, order[i]}] = i // first occurrence wins
		}
		reported := make(map[string]bool)
		for _, r := range rs {
			if isPrefix(r.ext, order) {
				continue
			}
			sig := fmt.Sprint(r.ext)
			if reported[sig] {
				continue
			}
			reported[sig] = true
			c.res.add(Anomaly{
				Kind:  IncompatibleOrder,
				Txns:  []int{c.h[r.txn].ID, c.h[rs[longest].txn].ID},
				Key:   k,
				Reads: [][]int{r.ext, order},
			})
		}
	}
}

func isPrefix(p, l []int) bool {
	return len(p) <= len(l) && slices.Equal(p, l[:len(p)])
}

// checkLostWrites reports committed appends absent from their key's order
// although the key's latest-starting reader began after the append
// committed.
func (c *checker) checkLostWrites() {
	latest := make(map[string]int) // key -> txn index of the reader with the greatest StartTS
	for _, k := range c.keys {
		best := -1
		for _, r := range c.reads[k] {
			if best < 0 || c.h[r.txn].StartTS > c.h[best].StartTS {
				best = r.txn
			}
		}
		latest[k] = best
	}
	for i, t := range c.h {
		if t.Outcome != Committed || t.CommitTS == 0 {
			continue
		}
		for _, op := range t.Ops {
			if op.Kind != OpAppend {
				continue
			}
			if _, ok := c.pos[elemKey{op.Key, op.Value}]; ok {
				continue
			}
			r, ok := latest[op.Key]
			if !ok || r == i || c.h[r].StartTS <= t.CommitTS {
				continue
			}
			c.res.add(Anomaly{Kind: LostWrite, Txns: []int{t.ID, c.h[r].ID}, Key: op.Key, Value: op.Value})
		}
	}
}

// graphWriter returns the transaction that appended v to k when it belongs
// in the graph (committed or unknown), else -1.
func (c *checker) graphWriter(k string, v int) int {
	w, ok := c.writers[elemKey{k, v}]
	if !ok || !c.observes(w.txn) {
		return -1
	}
	return w.txn
}

// writerAny returns the transaction that appended v to k, whatever its
// outcome, or -1 when nobody did.
func (c *checker) writerAny(k string, v int) int {
	if w, ok := c.writers[elemKey{k, v}]; ok {
		return w.txn
	}
	return -1
}

func (c *checker) buildGraph() {
	c.g = newGraph(len(c.h))
	for _, k := range c.keys {
		order := c.order[k]
		for i := 1; i < len(order); i++ {
			a, b := c.graphWriter(k, order[i-1]), c.graphWriter(k, order[i])
			if a >= 0 && b >= 0 && a != b {
				c.g.add(a, b, WW, k)
			}
		}
		for _, r := range c.reads[k] {
			if !isPrefix(r.ext, order) {
				continue // reported as incompatible; it names no version
			}
			n := len(r.ext)
			prev := -1
			if n > 0 {
				prev = c.writerAny(k, r.ext[n-1])
				if w := c.graphWriter(k, r.ext[n-1]); w >= 0 && w != r.txn {
					c.g.add(w, r.txn, WR, k)
				}
			}
			// Versions are per transaction: a read that stopped inside
			// another transaction's appends (G1b, reported) read that
			// transaction's write, and the version after it is the next
			// element by a different writer.
			for n < len(order) && prev >= 0 && c.writerAny(k, order[n]) == prev {
				n++
			}
			if n < len(order) {
				if w := c.graphWriter(k, order[n]); w >= 0 && w != r.txn {
					c.g.add(r.txn, w, RW, k)
				}
			}
		}
	}
}

// findCycles reports one G0, one G1c and one G-single cycle per strongly
// connected component of the matching subgraph.
func (c *checker) findCycles() {
	for _, scc := range c.g.sccs(WW) {
		if cyc := c.g.shortestCycleVia(scc, WW, WW); cyc != nil {
			c.addCycle(G0, cyc)
		}
	}
	for _, scc := range c.g.sccs(WW | WR) {
		if cyc := c.g.shortestCycleVia(scc, WR, WW|WR); cyc != nil {
			c.addCycle(G1c, cyc)
		}
	}
	for _, scc := range c.g.sccs(WW | WR | RW) {
		if cyc := c.g.shortestCycleVia(scc, RW, WW|WR); cyc != nil {
			c.addCycle(GSingle, cyc)
		}
	}
}

func (c *checker) addCycle(k Kind, cyc []Step) {
	a := Anomaly{Kind: k, Cycle: cyc}
	for i := range cyc {
		cyc[i].From, cyc[i].To = c.h[cyc[i].From].ID, c.h[cyc[i].To].ID
		a.Txns = append(a.Txns, cyc[i].From)
	}
	c.res.add(a)
}

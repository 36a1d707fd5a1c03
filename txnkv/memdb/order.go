package memdb

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
)

// Deferred ordering. Once the hash index exists (hashFrom entries), it
// alone answers whether a key is buffered, so a new key need not be placed
// in the tree when it is written: it is appended to the entry arena and
// stays pending. In a large buffer a descent of the tree costs several
// cache misses and a probe of the table one, which is what makes a bulk
// load of shuffled keys cheap. The pending entries are the arena's tail
// after MemDB.treeTo (entries are allocated in order and never removed), so
// they cost no memory of their own.
//
// The first ordered read after new keys (an iterator, All, Backward,
// Entries, Mutations, MutationSet) folds them in: it sorts them on an
// 8-byte abbreviation of each key (the bytes after the prefix the batch
// shares) with a radix sort, sorting runs of equal abbreviations again on
// the next 8 bytes (or comparing keys, for short runs), then either inserts
// them one by one in key order, when there are few next to the tree, or
// rebuilds the tree bottom-up from every entry, which reads each key once
// and mostly derives the nodes' heads from the abbreviations.

// rec is one entry being sorted: the abbreviation of its key, then its
// address.
type rec struct {
	ab uint64
	a  addr
}

// rebuildShare: the tree is rebuilt when the pending entries are at least
// 1/rebuildShare of all entries; below that, inserting them one by one
// costs less than reading every key again.
const rebuildShare = 4

// Fill of the nodes a rebuild makes: some room is left, so that the
// inserts that follow do not split every node they touch.
const (
	buildLeaf  = maxKeys - maxKeys/8 // keys per leaf
	buildInner = maxKeys - maxKeys/8 // separators per inner node
)

// order brings the tree up to date with the pending entries. Readers call
// it; several may at once (the first does the work under omu), as long as
// nobody writes.
func (db *MemDB) order() {
	if !db.hashed() {
		return // below hashFrom, writes go straight into the tree
	}
	end := db.ents.pos()
	if addr(db.treeUpto.Load()) == end.addr() {
		return
	}
	db.omu.Lock()
	defer db.omu.Unlock()
	if db.treeTo.addr() != end.addr() {
		db.fold()
	}
	db.treeTo = end
	db.treeUpto.Store(uint32(end.addr()))
}

// fold puts the entries after treeTo (up to the arena's end) into the tree.
func (db *MemDB) fold() {
	t := &db.idx
	pending := db.nents - t.count
	if pending <= 0 {
		return
	}
	if t.count == 0 || pending*rebuildShare >= db.nents {
		recs := db.sorted(checkpoint{}, db.nents)
		db.build(recs.recs, recs.p)
		return
	}
	recs := db.sorted(db.treeTo, pending)
	for _, r := range recs.recs {
		a := r.a
		t.insert(t.key(a), func() addr { return a })
	}
}

type sortedRecs struct {
	recs []rec
	p    int // bytes every key shares, before the abbreviations
}

// sorted returns the n entries allocated after from, in key order.
func (db *MemDB) sorted(from checkpoint, n int) sortedRecs {
	t := &db.idx
	// Every key lies between the smallest and the largest, so it shares
	// their common prefix; the abbreviations start after it.
	p := lcp(t.key(db.lo), t.key(db.hi))
	recs := make([]rec, 0, n)
	// The entries, in arena order: one sequential pass (arena.walk's
	// callbacks cost more than the loop's body).
	ents := &db.ents
	slot, off := from.slot, from.used
	if slot == 0 && off == 0 {
		off = 1 << unitShift
	}
	for slot < len(ents.chunks) {
		c := ents.chunks[slot]
		for off < c.used {
			kl := int(binary.LittleEndian.Uint16(c.buf[off+6:]))
			a := addr(slot)<<(slotShift-unitShift) | addr(off>>unitShift)
			var ab uint64
			if ks := off + entryHdr + p; kl-p < 8 && ks+8 <= len(c.buf) {
				// A short tail: read 8 bytes anyway (the chunk goes on)
				// and clear the ones past the key, as padding would.
				ab = binary.BigEndian.Uint64(c.buf[ks:]) &^ (math.MaxUint64 >> (8 * (kl - p)))
			} else {
				ab = abbrev(c.buf[off+entryHdr:off+entryHdr+kl], p)
			}
			recs = append(recs, rec{ab: ab, a: a})
			off += (entryHdr + kl + 3) &^ 3
		}
		slot += max(1, (len(c.buf)+slotBytes-1)/slotBytes)
		off = 0
	}
	recs = radixSort(recs)
	t.sortTies(recs, p)
	return sortedRecs{recs: recs, p: p}
}

// sortTies sorts each run of equal abbreviations in recs, which is sorted
// on the abbreviations of the key bytes from off on.
func (t *tree) sortTies(recs []rec, off int) {
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].ab == recs[i].ab {
			j++
		}
		if j-i > 1 {
			t.sortRun(recs[i:j], off+8)
		}
		i = j
	}
}

// sortRun sorts run, whose keys agree (zero padded) on their first off
// bytes. A long run (one index's entries, say, after a prefix that covers
// only the table) is radix sorted again on the next 8 bytes, which reads
// each key once more, rather than compared pairwise, which would read keys
// n log n times. The abbreviations are put back as they were: fill derives
// heads from them.
func (t *tree) sortRun(run []rec, off int) {
	if len(run) < 32 || off >= 64 {
		slices.SortFunc(run, func(x, y rec) int {
			return bytes.Compare(t.key(x.a), t.key(y.a))
		})
		return
	}
	ab := run[0].ab
	for i := range run {
		k := t.key(run[i].a)
		run[i].ab = 0
		if len(k) > off {
			run[i].ab = abbrev(k, off)
		}
	}
	if s := radixSort(run); &s[0] != &run[0] {
		copy(run, s)
	}
	t.sortTies(run, off)
	for i := range run {
		run[i].ab = ab
	}
}

// abbrev returns the 8 bytes of k after p, big-endian and zero padded, so
// that abbreviations order like the keys (ties aside).
func abbrev(k []byte, p int) uint64 {
	if len(k) >= p+8 {
		return binary.BigEndian.Uint64(k[p:])
	}
	var b [8]byte
	copy(b[:], k[p:])
	return binary.BigEndian.Uint64(b[:])
}

// radixSort sorts recs by ab (least significant byte first, skipping the
// bytes all of them share) and returns the sorted slice, which may be a new
// one.
func radixSort(recs []rec) []rec {
	if len(recs) < 64 {
		slices.SortFunc(recs, func(x, y rec) int {
			switch {
			case x.ab < y.ab:
				return -1
			case x.ab > y.ab:
				return 1
			}
			return 0
		})
		return recs
	}
	var counts [8][256]int
	for _, r := range recs {
		ab := r.ab
		for d := range 8 {
			counts[d][byte(ab>>(8*d))]++
		}
	}
	var tmp []rec
	for d := range 8 {
		c := &counts[d]
		if c[byte(recs[0].ab>>(8*d))] == len(recs) {
			continue // every key has the same byte here
		}
		if tmp == nil {
			tmp = make([]rec, len(recs))
		}
		sum := 0
		for i := range c {
			sum, c[i] = sum+c[i], sum
		}
		shift := 8 * d
		for _, r := range recs {
			b := byte(r.ab >> shift)
			tmp[c[b]] = r
			c[b]++
		}
		recs, tmp = tmp, recs
	}
	return recs
}

// build replaces the tree with one holding recs (every entry, in key
// order), built bottom-up; p is the prefix all keys share, before the
// abbreviations.
func (db *MemDB) build(recs []rec, p int) {
	t := &db.idx
	// Field by field: readers may be using t.ents meanwhile (Get).
	t.root, t.count, t.appended, t.lo, t.hi = nil, 0, false, 0, 0
	t.nodes, t.slab, t.mem = 0, nil, 0
	if len(recs) == 0 {
		return
	}
	t.count = len(recs)
	t.lo, t.hi = recs[0].a, recs[len(recs)-1].a
	// level holds, per node of the level being built, its smallest key
	// (as a rec) and the node itself.
	type sub struct {
		first rec
		n     *node
	}
	nLeaves := (len(recs) + buildLeaf - 1) / buildLeaf
	level := make([]sub, 0, nLeaves)
	var prev *node
	for i := range nLeaves {
		lo, hi := i*len(recs)/nLeaves, (i+1)*len(recs)/nLeaves
		n := t.newNode(true)
		t.fill(n, recs[lo:hi], p)
		n.prev = prev
		if prev != nil {
			prev.next = n
		}
		prev = n
		level = append(level, sub{recs[lo], n})
	}
	for len(level) > 1 {
		// An inner node of k kids has k-1 separators: the first keys of
		// all kids but the first.
		nNodes := (len(level) + buildInner) / (buildInner + 1)
		next := make([]sub, 0, nNodes)
		seps := make([]rec, 0, buildInner+1)
		for i := range nNodes {
			lo, hi := i*len(level)/nNodes, (i+1)*len(level)/nNodes
			n := t.newNode(false)
			seps = seps[:0]
			for _, s := range level[lo+1 : hi] {
				seps = append(seps, s.first)
			}
			t.fill(n, seps, p)
			for j, s := range level[lo:hi] {
				n.kids[j] = s.n
			}
			next = append(next, sub{level[lo].first, n})
		}
		level = next
	}
	t.root = level[0].n
}

// fill sets the keys of the empty node n to recs (in key order). The
// node's prefix is what its first and last keys share (all keys between
// them share it too), and its heads are cut from the abbreviations when
// those cover them, which spares reading every key from the arena.
func (t *tree) fill(n *node, recs []rec, p int) {
	cnt := len(recs)
	first, last := t.key(recs[0].a), t.key(recs[cnt-1].a)
	pl := min(lcp(first, last), pfxCap)
	n.plen = uint8(pl)
	copy(n.pfx[:], first[:pl])
	n.n = uint16(cnt)
	if pl >= p && pl+4 <= p+8 {
		sh := 8 * (pl - p)
		for i, r := range recs {
			n.keys[i] = r.a
			n.heads[i] = uint32(r.ab << sh >> 32)
		}
	} else {
		for i, r := range recs {
			n.keys[i] = r.a
			n.heads[i] = head(t.key(r.a), pl)
		}
	}
	n.resum()
}

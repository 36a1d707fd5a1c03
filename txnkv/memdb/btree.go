package memdb

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// The key index is a B+tree whose nodes hold 4-byte entry addresses instead
// of keys. To avoid touching the arena on every comparison, each node also
// keeps the prefix shared by all of its keys (up to pfxCap bytes) and, per
// slot, the 4 key bytes that follow that prefix ("head"). Lookups compare
// heads and read a key from the arena only when heads tie, which for keys
// with long common prefixes (TiDB's "t{table}_r{handle}") is what makes the
// heads useful at all. Entries are never removed from the index (a Cleanup
// hides them, as in client-go), so the tree only grows. Past the hash
// index's threshold new keys reach the tree in sorted batches at the next
// ordered read, inserted one by one or by a bottom-up rebuild (order.go).
const (
	nodeCap = 64          // slots per node, one spare for the overflow
	maxKeys = nodeCap - 2 // slots per node before it splits
	pfxCap  = 28          // longest prefix kept inline
	block   = 8           // heads (and keys) per 32-byte block
)

// node is laid out for few cache lines per visit: the first 64 bytes hold
// the count, the prefix and a summary (the first head of blocks 1..7), so a
// search reads those, one 32-byte block of heads and the matching block of
// keys, instead of binary-searching across the whole heads array. (The
// blocks are not cache-line aligned: a slab of nodes starts after the
// runtime's 8-byte type header. Making nodes pointer-free, with uint32 node
// indices, would align them and spare the GC from scanning them.)
type node struct {
	n     uint16
	plen  uint8
	leaf  bool
	pfx   [pfxCap]byte
	sum   [nodeCap/block - 1]uint32 // sum[j] = heads[(j+1)*block]
	_     [(9 - nodeCap/block) * 4]byte
	heads [nodeCap]uint32 // maxKeys+1 used: a node is split after it overflows
	keys  [nodeCap]addr   // entries (leaf) or separators (inner)
	kids  *[nodeCap]*node // inner nodes only
	prev  *node           // leaves only
	next  *node           // leaves only
}

// Nodes come from slabs of up to slabNodes; an inner node's child array is
// its own allocation of kidsBytes (a size class exactly).
const (
	slabNodes = 64
	kidsBytes = nodeCap * 8
)

// tree is the ordered index of a MemDB's entries.
type tree struct {
	ents  *arena
	root  *node
	count int // entries
	// appended is set when the last insert went to the right edge.
	appended bool
	lo, hi   addr // entries of the smallest and largest keys
	sink     uint32
	nodes    int // allocated nodes, for Mem
	slab     []node
	mem      uint64 // bytes of slabs and child arrays
}

// key returns the key bytes of the entry at a.
func (t *tree) key(a addr) []byte {
	off := int(a&slotMask) << unitShift
	buf := t.ents.chunks[a>>(slotShift-unitShift)].buf
	n := int(binary.LittleEndian.Uint16(buf[off+6:]))
	return buf[off+entryHdr : off+entryHdr+n : off+entryHdr+n]
}

// head returns the 4 bytes of k that follow a p-byte prefix, zero padded.
// Zero padding keeps heads ordered like keys: if x < y share the prefix then
// head(x) <= head(y).
func head(k []byte, p int) uint32 {
	if len(k) >= p+4 {
		return binary.BigEndian.Uint32(k[p:])
	}
	var h uint32
	for i := p; i < p+4; i++ {
		h <<= 8
		if i < len(k) {
			h |= uint32(k[i])
		}
	}
	return h
}

// search returns the first slot of n whose key is >= k, and whether it is
// equal to k.
func (t *tree) search(n *node, k []byte) (int, bool) {
	p := int(n.plen)
	if p > 0 {
		m := min(p, len(k))
		c := bytes.Compare(k[:m], n.pfx[:m])
		if c < 0 || c == 0 && len(k) < p {
			return 0, false
		}
		if c > 0 {
			return int(n.n), false
		}
	}
	h := head(k, p)
	cnt := int(n.n)
	// The summary picks the block holding the first head >= h; a linear
	// scan of 8 heads finishes it. Heads tie only when keys share 4 more
	// bytes; ties are settled by reading the keys.
	i := 0
	for j := 0; j < len(n.sum) && (j+1)*block < cnt && n.sum[j] < h; j++ {
		i = (j + 1) * block
	}
	for end := min(i+block, cnt); i < end && n.heads[i] < h; i++ {
	}
	for ; i < cnt && n.heads[i] == h; i++ {
		switch c := bytes.Compare(t.key(n.keys[i])[p:], k[p:]); {
		case c == 0:
			return i, true
		case c > 0:
			return i, false
		}
	}
	return i, false
}

// resum refreshes the summary after heads changed.
func (n *node) resum() {
	for j := range n.sum {
		n.sum[j] = n.heads[(j+1)*block]
	}
}

// leafFor returns the leaf where k is or would be, and the slot.
func (t *tree) leafFor(k []byte) (*node, int, bool) {
	n := t.root
	if n == nil {
		return nil, 0, false
	}
	for !n.leaf {
		i, eq := t.search(n, k)
		if eq {
			i++
		}
		n = n.kids[i]
	}
	i, eq := t.search(n, k)
	return n, i, eq
}

// get returns the entry address for k, or 0.
func (t *tree) get(k []byte) addr {
	n, i, eq := t.leafFor(k)
	if !eq {
		return 0
	}
	return n.keys[i]
}

type pathElem struct {
	n *node
	i int
}

// insert returns the entry for k, creating it with mk when absent. mk
// returns 0 when the entry cannot be allocated; insert then changes nothing.
func (t *tree) insert(k []byte, mk func() addr) (a addr, created bool) {
	if t.root == nil {
		a = mk()
		if a == 0 {
			return 0, false
		}
		t.root = t.newNode(true)
		t.count = 1
		t.lo, t.hi = a, a
		t.insertAt(t.root, 0, a, k, nil)
		return a, true
	}
	var buf [12]pathElem
	path := buf[:0]
	n := t.root
	// A key above the largest goes after the last slot of every node on
	// the right edge, so the descent needs no search. Record keys of new
	// rows mostly arrive this way (ascending handles); the check is made
	// only after an append, so that other orders do not pay for it.
	above := t.appended && bytes.Compare(k, t.key(t.hi)) > 0
	leftmost, rightmost := !above, true
	for !n.leaf {
		i := int(n.n)
		if !above {
			var eq bool
			if i, eq = t.search(n, k); eq {
				i++
			}
		}
		leftmost = leftmost && i == 0
		rightmost = rightmost && i == int(n.n)
		path = append(path, pathElem{n, i})
		n = n.kids[i]
	}
	i := int(n.n)
	if !above {
		t.touch(n)
		var eq bool
		if i, eq = t.search(n, k); eq {
			return n.keys[i], false
		}
	}
	a = mk()
	if a == 0 {
		return 0, false
	}
	t.count++
	t.insertAt(n, i, a, k, nil)
	// Appending at the right edge (ascending keys, the common bulk-load
	// pattern) splits so the left node stays full instead of half full.
	appending := rightmost && i == int(n.n)-1
	t.appended = appending
	if appending {
		t.hi = a
	}
	if leftmost && i == 0 {
		t.lo = a
	}
	for n.n > maxKeys {
		right, sep := t.split(n, appending)
		if len(path) == 0 {
			root := t.newNode(false)
			root.kids[0] = n
			t.insertAt(root, 0, sep, t.key(sep), right)
			t.root = root
			break
		}
		pe := path[len(path)-1]
		path = path[:len(path)-1]
		t.insertAt(pe.n, pe.i, sep, t.key(sep), right)
		n = pe.n
	}
	return a, true
}

// touch loads one word from each cache line of n's heads and keys, the
// lines an insert shifts. In a large tree the leaf is a cache miss per line;
// loaded together up front the misses overlap, instead of coming one after
// another as the search and then the shift reach each line. The words go to
// sink only so that the loads are kept.
func (t *tree) touch(n *node) {
	var x uint32
	for j := 0; j < nodeCap; j += 16 {
		x ^= n.heads[j] ^ uint32(n.keys[j])
	}
	t.sink += x ^ n.heads[nodeCap-1] ^ uint32(n.keys[nodeCap-1])
}

// newNode returns an empty node. Nodes are carved from slabs, one heap
// allocation per slabNodes of them, and never freed before Reset.
func (t *tree) newNode(leaf bool) *node {
	if len(t.slab) == 0 {
		// Slabs of 1, 2, 4, ... 64 nodes: small buffers stay small.
		t.slab = make([]node, min(slabNodes, 1<<bits.Len(uint(t.nodes/2))))
		t.mem += uint64(len(t.slab)) * uint64(unsafe.Sizeof(node{}))
	}
	n := &t.slab[0]
	t.slab = t.slab[1:]
	t.nodes++
	n.leaf = leaf
	if !leaf {
		n.kids = new([nodeCap]*node)
		t.mem += kidsBytes
	}
	return n
}

// insertAt puts a (whose key is k) at slot i of n; for inner nodes kid
// becomes the child right of it. n may overflow by one slot.
func (t *tree) insertAt(n *node, i int, a addr, k []byte, kid *node) {
	cnt := int(n.n)
	if cnt == 0 {
		p := min(len(k), pfxCap)
		n.plen = uint8(p)
		copy(n.pfx[:], k[:p])
	} else if p := int(n.plen); p > 0 {
		if l := lcp(k, n.pfx[:p]); l < p {
			shrink(n, l)
		}
	}
	copy(n.heads[i+1:cnt+1], n.heads[i:cnt])
	copy(n.keys[i+1:cnt+1], n.keys[i:cnt])
	n.heads[i] = head(k, int(n.plen))
	n.keys[i] = a
	if !n.leaf {
		copy(n.kids[i+2:cnt+2], n.kids[i+1:cnt+1])
		n.kids[i+1] = kid
	}
	n.n++
	n.resum()
}

// split moves the upper part of an overflowing node into a new right
// sibling and returns it with the separator to insert into the parent.
func (t *tree) split(n *node, appending bool) (*node, addr) {
	cnt := int(n.n)
	right := t.newNode(n.leaf)
	var sep addr
	if n.leaf {
		s := cnt / 2
		if appending {
			s = cnt - 1
		}
		sep = n.keys[s]
		right.n = uint16(cnt - s)
		copy(right.keys[:], n.keys[s:cnt])
		copy(right.heads[:], n.heads[s:cnt])
		n.n = uint16(s)
		right.prev, right.next = n, n.next
		if n.next != nil {
			n.next.prev = right
		}
		n.next = right
	} else {
		s := cnt / 2
		if appending {
			s = cnt - 2
		}
		// Slot s moves up; its right child becomes right's first child.
		sep = n.keys[s]
		right.n = uint16(cnt - s - 1)
		copy(right.keys[:], n.keys[s+1:cnt])
		copy(right.heads[:], n.heads[s+1:cnt])
		copy(right.kids[:], n.kids[s+1:cnt+1])
		clear(n.kids[s+1 : cnt+1])
		n.n = uint16(s)
	}
	right.plen, right.pfx = n.plen, n.pfx
	t.grow(n)
	t.grow(right)
	n.resum()
	right.resum()
	return right, sep
}

// shrink cuts n's prefix to l bytes (l < plen) after a key that shares
// less of it arrived. The new heads need no arena reads: bytes [l, plen) of
// every key are the old prefix, and the bytes after it are the old head.
func shrink(n *node, l int) {
	p := int(n.plen)
	var ext [pfxCap + 4]byte
	m := copy(ext[:], n.pfx[l:p])
	for j := 0; j < int(n.n); j++ {
		if m >= 4 {
			n.heads[j] = binary.BigEndian.Uint32(ext[:])
			continue
		}
		binary.BigEndian.PutUint32(ext[m:], n.heads[j])
		n.heads[j] = binary.BigEndian.Uint32(ext[:])
	}
	n.plen = uint8(l)
	n.resum()
}

// grow lengthens n's prefix to what its first and last keys share (all keys
// between them share it), after a split narrowed its key range, but only
// when two heads tie (a search then reads keys from the arena); recomputing
// heads reads every key from the arena, a cache miss each.
func (t *tree) grow(n *node) {
	cnt := int(n.n)
	if cnt == 0 {
		return
	}
	tie := false
	for j := 1; j < cnt && !tie; j++ {
		tie = n.heads[j] == n.heads[j-1]
	}
	if !tie {
		// The heads tell every key apart, so searches read no keys from
		// the arena; a longer prefix would save nothing.
		return
	}
	first, last := t.key(n.keys[0]), t.key(n.keys[cnt-1])
	p := min(lcp(first, last), pfxCap)
	if p <= int(n.plen) {
		return
	}
	n.plen = uint8(p)
	copy(n.pfx[:], first[:p])
	n.heads[0] = head(first, p)
	n.heads[cnt-1] = head(last, p)
	for j := 1; j < cnt-1; j++ {
		n.heads[j] = head(t.key(n.keys[j]), p)
	}
}

// first returns the leftmost leaf.
func (t *tree) first() *node {
	n := t.root
	for n != nil && !n.leaf {
		n = n.kids[0]
	}
	return n
}

// last returns the rightmost leaf.
func (t *tree) last() *node {
	n := t.root
	for n != nil && !n.leaf {
		n = n.kids[n.n]
	}
	return n
}

func lcp(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i+8 <= n {
		x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:])
		if x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
		i += 8
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

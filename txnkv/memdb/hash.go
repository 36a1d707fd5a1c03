package memdb

import (
	"bytes"
	"hash/maphash"
)

// hindex maps keys to entries for point reads and writes, so that Get,
// Lookup and the search a write starts with cost one probe of a flat table
// and one read of the entry, instead of a walk down the B+tree (about two
// cache misses per level in a large buffer). The tree is still what orders
// keys; it is only walked to insert a new key and to iterate.
//
// The table exists only once the buffer holds hashFrom entries: below that
// the tree is shallow and cache-resident and beats the table on reads, and
// the table would cost a small transaction 8-16 bytes per key and a fifth of
// its write time.
//
// A slot holds the top 32 bits of the key's hash and the entry address; 0
// is empty (no entry has address 0). The slot position comes from the same
// 32 bits, so growing the table rehashes without reading any key. Entries
// are never removed, so probing needs no tombstones.
type hindex struct {
	slots []uint64
	n     int
	seed  maphash.Seed
}

func (h *hindex) hash(k []byte) uint32 {
	return uint32(maphash.Bytes(h.seed, k) >> 32)
}

// get returns the entry for k (whose hash is hv), or 0 and the empty slot
// where the probe ended (-1 for an empty table).
func (h *hindex) get(t *tree, k []byte, hv uint32) (addr, int) {
	if len(h.slots) == 0 {
		return 0, -1
	}
	mask := uint32(len(h.slots) - 1)
	for i := hv & mask; ; i = (i + 1) & mask {
		s := h.slots[i]
		if s == 0 {
			return 0, int(i)
		}
		if uint32(s>>32) == hv && bytes.Equal(t.key(addr(s)), k) {
			return addr(s), 0
		}
	}
}

// insert adds entry a for a key absent from the table; free is the empty
// slot get returned for it.
func (h *hindex) insert(hv uint32, a addr, free int) {
	h.n++
	if h.n*4 > len(h.slots)*3 {
		h.grow()
		h.put(hv, a)
		return
	}
	h.slots[free] = uint64(hv)<<32 | uint64(a)
}

func (h *hindex) put(hv uint32, a addr) {
	mask := uint32(len(h.slots) - 1)
	i := hv & mask
	for h.slots[i] != 0 {
		i = (i + 1) & mask
	}
	h.slots[i] = uint64(hv)<<32 | uint64(a)
}

func (h *hindex) grow() {
	old := h.slots
	h.slots = make([]uint64, max(16, 2*len(old)))
	for _, s := range old {
		if s != 0 {
			h.put(uint32(s>>32), addr(s))
		}
	}
}

// hashFrom is the entry count at which the hash index is built.
const hashFrom = 8192

// build fills an empty table with every entry of t, walking its leaves.
func (h *hindex) build(t *tree) {
	size := 16
	for size*3 < t.count*4*2 {
		size *= 2
	}
	h.slots = make([]uint64, size)
	for n := t.first(); n != nil; n = n.next {
		for _, a := range n.keys[:n.n] {
			h.put(h.hash(t.key(a)), a)
		}
	}
	h.n = t.count
}

func (h *hindex) mem() uint64 { return 8 * uint64(len(h.slots)) }

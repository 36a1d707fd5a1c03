package memdb

import (
	"bytes"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// hindex maps keys to entries for point reads and writes, so that Get,
// Lookup and the search a write starts with cost one probe of a flat table
// and one read of the entry, instead of a walk down the B+tree (about two
// cache misses per level in a large buffer). Once it exists it is also what
// says whether a key is buffered at all: new keys enter the tree only at the
// next ordered read (see order.go), so the table must hold every entry.
//
// The table exists only once the buffer holds hashFrom entries: below that
// the tree is shallow and cache-resident and beats the table on reads, and
// the table would cost a small transaction 8-16 bytes per key. The first
// read or write past hashFrom builds it in one pass (sync: the entries are
// the entry arena's contents, allocated in order and never removed); from
// then on the write that creates an entry adds it (add).
//
// A slot holds the top 32 bits of the key's hash and the entry address; 0
// is empty (no entry has address 0). The slot position comes from the same
// 32 bits, so growing the table rehashes without reading any key. Entries
// are never removed, so probing needs no tombstones.
type hindex struct {
	slots []uint64
	n     int
	seed  maphash.Seed

	// upto is addr(done): entries at lower addresses are in the table.
	// Readers compare it with the arena's end without the lock; a reader
	// that finds entries missing (the buffer just reached hashFrom) takes
	// mu and adds them, so that several readers may share a buffer (none
	// of them writes anything else).
	upto atomic.Uint32
	mu   sync.Mutex
	done checkpoint // the arena position upto names; guarded by mu
}

func (h *hindex) hash(k []byte) uint32 {
	return uint32(maphash.Bytes(h.seed, k) >> 32)
}

// get returns the entry for k, whose hash is hv, or 0. The table must be in
// sync with the tree.
func (h *hindex) get(t *tree, k []byte, hv uint32) addr {
	mask := uint32(len(h.slots) - 1)
	for i := hv & mask; ; i = (i + 1) & mask {
		s := h.slots[i]
		if s == 0 {
			return 0
		}
		if uint32(s>>32) == hv && bytes.Equal(t.key(addr(s)), k) {
			return addr(s)
		}
	}
}

func (h *hindex) put(hv uint32, a addr) {
	mask := uint32(len(h.slots) - 1)
	i := hv & mask
	for h.slots[i] != 0 {
		i = (i + 1) & mask
	}
	h.slots[i] = uint64(hv)<<32 | uint64(a)
}

// hashFrom is the entry count at which the hash index is built.
const hashFrom = 8192

// synced reports, without locking, whether every entry of ents is in the
// table. The table is stored before upto, so a reader that sees upto at the
// arena's end also sees the table. (A non-empty arena never ends at 0.)
func (h *hindex) synced(ents *arena) bool {
	return addr(h.upto.Load()) == ents.pos().addr()
}

// sync adds the entries created since the last sync (all of them, the first
// time), sizing the table once for the total. Safe to call from several
// readers at once; a writer calls it with no reader around.
func (h *hindex) sync(t *tree, count int) {
	ents := t.ents
	if h.synced(ents) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	end := ents.pos()
	if h.slots != nil && addr(h.upto.Load()) == end.addr() {
		return
	}
	// count is every entry's; the table stays at most 3/4 full.
	h.grow(count)
	if pending := count - h.n; pending >= bulkFrom {
		h.addBulk(t, pending)
	} else {
		ents.walk(h.done, entrySize(ents), func(a addr) {
			h.put(h.hash(t.key(a)), a)
		})
	}
	h.n = count
	h.done = end
	h.upto.Store(uint32(end.addr()))
}

// grow resizes the table for count entries, keeping it at most 3/4 full.
// Slots carry their hash, so no key is read.
func (h *hindex) grow(count int) {
	size := max(16, len(h.slots))
	for size*3 < count*4 {
		size *= 2
	}
	if size == len(h.slots) {
		return
	}
	old := h.slots
	ns := make([]uint64, size)
	mask := uint32(size - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := uint32(s>>32) & mask
		for ns[i] != 0 {
			i = (i + 1) & mask
		}
		ns[i] = s
	}
	h.slots = ns
}

// add puts the entry a, just created with hash hv, into a table that was in
// sync before it; count is the entry count including a and end the entry
// arena's position after it. Only a writer calls it, with no reader around.
func (h *hindex) add(hv uint32, a addr, count int, end checkpoint) {
	if len(h.slots)*3 < count*4 {
		h.grow(count)
	}
	h.put(hv, a)
	h.n = count
	h.done = end
	h.upto.Store(uint32(end.addr()))
}

// entrySize returns the size function arena.walk needs for entries.
func entrySize(ents *arena) func(addr) int {
	return func(a addr) int { return entryHdr + int(ents.u32(a, 4)>>16) }
}

// bulkFrom is the number of missing entries from which sync partitions them
// by slot before inserting.
const bulkFrom = 4096

// partBits sets the number of partitions addBulk uses: 1024 write streams
// fit in the L2 cache, and so does the table range of one partition.
const partBits = 10

// addBulk adds the pending entries after h.done. Entries lie in the arena
// in write order, so inserting them as they come hits a random slot each, a
// cache miss per entry once the table outgrows the cache. Instead they are
// first scattered into partitions by slot range (a counting pass and a
// scatter pass, hashing each key twice rather than keeping the hashes), then
// inserted partition by partition, each within a small range of the table.
func (h *hindex) addBulk(t *tree, pending int) {
	ents := t.ents
	mask := uint32(len(h.slots) - 1)
	shift := 0
	for len(h.slots)>>shift > 1<<partBits {
		shift++
	}
	var offs [1<<partBits + 1]int
	size := entrySize(ents)
	ents.walk(h.done, size, func(a addr) {
		offs[(h.hash(t.key(a))&mask)>>shift+1]++
	})
	for i := 1; i < len(offs); i++ {
		offs[i] += offs[i-1]
	}
	out := make([]uint64, pending)
	ents.walk(h.done, size, func(a addr) {
		hv := h.hash(t.key(a))
		p := (hv & mask) >> shift
		out[offs[p]] = uint64(hv)<<32 | uint64(a)
		offs[p]++
	})
	for _, s := range out {
		h.put(uint32(s>>32), addr(s))
	}
}

// reset empties the table, keeping the seed.
func (h *hindex) reset() {
	h.slots = nil
	h.n = 0
	h.done = checkpoint{}
	h.upto.Store(0)
}

func (h *hindex) mem() uint64 { return 8 * uint64(len(h.slots)) }

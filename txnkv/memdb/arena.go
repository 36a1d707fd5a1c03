package memdb

import "encoding/binary"

// addr is a position in an arena, counted in 4-byte units so that a uint32
// reaches 16 GiB while every reference stays 4 bytes wide. 0 is the null
// address (the first unit of every arena is reserved for that).
type addr uint32

const (
	unitShift = 2                      // bytes per unit = 1 << unitShift
	slotShift = 20                     // address span of one chunk slot: 1 MiB
	slotBytes = 1 << slotShift         // bytes one slot can address
	slotUnits = slotBytes >> unitShift // units one slot can address
	slotMask  = slotUnits - 1          // unit offset inside a slot
	maxSlots  = 1 << (32 - slotShift + unitShift)
	firstCap  = 512 // first chunk; small transactions stay small
	maxRecord = 1<<(32+unitShift) - slotBytes
)

// chunk is one allocation of an arena. Records never cross chunks and never
// move, so a slice handed out by the arena stays valid until the arena is
// truncated below it.
type chunk struct {
	buf  []byte
	used int // bytes allocated in buf
}

// arena is an append-only allocator of 4-byte aligned records. Chunk sizes
// double from firstCap up to one slot (1 MiB), so a transaction of a few keys
// costs a few hundred bytes and a large one wastes at most a chunk tail per
// MiB. Each chunk owns a fixed slice of the address space (one slot, or
// several for a record larger than a slot), which turns address translation
// into a shift and a mask; unused address space costs nothing.
type arena struct {
	chunks []chunk  // indexed by slot; continuation slots of a big record are empty
	first  [1]chunk // chunks' first backing array: a small buffer needs no other
	cur    int      // slot of the chunk being filled
	mem    uint64   // sum of chunk capacities, spare included
	spare  []byte   // a chunk freed by truncate, kept for the next one
}

// checkpoint is the arena's allocation position: every record allocated
// after it has a larger address.
type checkpoint struct {
	slot int
	used int
}

// alloc reserves n bytes (rounded up to 4) and returns their address and a
// slice over them. ok is false when the address space is exhausted.
func (a *arena) alloc(n int) (addr, []byte, bool) {
	n = (n + 3) &^ 3
	if len(a.chunks) > 0 {
		c := &a.chunks[a.cur]
		if c.used+n <= len(c.buf) {
			p := addr(a.cur)<<(slotShift-unitShift) | addr(c.used>>unitShift)
			b := c.buf[c.used : c.used+n : c.used+n]
			c.used += n
			return p, b, true
		}
	}
	return a.allocSlow(n)
}

func (a *arena) allocSlow(n int) (addr, []byte, bool) {
	size := firstCap
	slot := 0
	if len(a.chunks) > 0 {
		last := a.chunks[a.cur]
		size = min(2*len(last.buf), slotBytes)
		slot = a.cur + max(1, (len(last.buf)+slotBytes-1)/slotBytes)
	}
	need := n
	if slot == 0 {
		need += 1 << unitShift // reserve the null address
	}
	size = max(size, need)
	var buf []byte
	if len(a.spare) >= need && len(a.spare) <= slotBytes {
		// Reuse the chunk a Cleanup freed: a statement that is rolled back
		// over and over must not allocate a chunk each time.
		buf, a.spare = a.spare, nil
		size = len(buf)
	}
	span := (size + slotBytes - 1) / slotBytes
	if n > maxRecord || slot+span > maxSlots {
		return 0, nil, false
	}
	for len(a.chunks) < slot+span {
		a.chunks = append(a.chunks, chunk{})
	}
	if buf == nil {
		buf = make([]byte, size)
		a.mem += uint64(size)
	}
	a.chunks[slot] = chunk{buf: buf, used: need - n}
	a.cur = slot
	return a.alloc(n)
}

// bytes returns n bytes at p.
func (a *arena) bytes(p addr, n int) []byte {
	off := int(p&slotMask) << unitShift
	return a.chunks[p>>(slotShift-unitShift)].buf[off : off+n : off+n]
}

// u32 reads the little-endian uint32 at p plus off bytes.
func (a *arena) u32(p addr, off int) uint32 {
	o := int(p&slotMask)<<unitShift + off
	return binary.LittleEndian.Uint32(a.chunks[p>>(slotShift-unitShift)].buf[o:])
}

// setU32 writes the little-endian uint32 at p plus off bytes.
func (a *arena) setU32(p addr, off int, v uint32) {
	o := int(p&slotMask)<<unitShift + off
	binary.LittleEndian.PutUint32(a.chunks[p>>(slotShift-unitShift)].buf[o:], v)
}

// pos returns the current allocation position.
func (a *arena) pos() checkpoint {
	if len(a.chunks) == 0 {
		return checkpoint{}
	}
	return checkpoint{slot: a.cur, used: a.chunks[a.cur].used}
}

// addrOf returns the address of the first byte allocated after cp; any
// record with an address >= addrOf(cp) was allocated after cp.
func (cp checkpoint) addr() addr {
	return addr(cp.slot)<<(slotShift-unitShift) | addr(cp.used>>unitShift)
}

// truncate frees everything allocated after cp. Chunks past cp's are
// dropped so that Mem shrinks after a large statement is rolled back.
func (a *arena) truncate(cp checkpoint) {
	if len(a.chunks) == 0 {
		return
	}
	if cp.slot == 0 && cp.used == 0 && len(a.chunks) > 0 {
		// Nothing had been allocated at cp: keep the first chunk for reuse.
		cp.used = 1 << unitShift
	}
	for i := cp.slot + 1; i < len(a.chunks); i++ {
		b := a.chunks[i].buf
		if i == cp.slot+1 && len(b) <= slotBytes && len(b) > len(a.spare) {
			a.mem -= uint64(len(a.spare))
			a.spare = b
			continue
		}
		a.mem -= uint64(len(b))
	}
	clear(a.chunks[cp.slot+1:])
	a.chunks = a.chunks[:cp.slot+1]
	a.chunks[cp.slot].used = cp.used
	a.cur = cp.slot
}

// walk calls fn for each record allocated after cp, in allocation order.
// size reports a record's length in bytes from its header.
func (a *arena) walk(cp checkpoint, size func(p addr) int, fn func(p addr)) {
	slot, off := cp.slot, cp.used
	if slot == 0 && off == 0 {
		off = 1 << unitShift
	}
	for slot < len(a.chunks) {
		c := a.chunks[slot]
		for off < c.used {
			p := addr(slot)<<(slotShift-unitShift) | addr(off>>unitShift)
			fn(p)
			off += (size(p) + 3) &^ 3
		}
		slot += max(1, (len(c.buf)+slotBytes-1)/slotBytes)
		off = 0
	}
}

// reset drops every chunk.
func (a *arena) reset() {
	*a = arena{}
	a.chunks = a.first[:0]
}

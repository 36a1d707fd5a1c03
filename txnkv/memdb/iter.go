package memdb

import (
	"bytes"
	"encoding/binary"
	"iter"
)

// Entry is a read view of one buffered key. Its slices point into the
// buffer (see [MemDB] for how long they stay valid).
type Entry struct {
	Key   []byte
	Value []byte // nil for a tombstone or a flags-only key
	Flags Flags

	written bool // the key has a value or a tombstone
	deleted bool // the write is a tombstone
}

// HasValue reports whether the key has a buffered write: a value or a
// tombstone. A key with flags only has none.
func (e Entry) HasValue() bool { return e.written }

// Deleted reports whether the buffered write is a tombstone.
func (e Entry) Deleted() bool { return e.deleted }

// IterOption selects which entries an iterator yields besides live values.
type IterOption struct{ mode uint8 }

const (
	withTombstones uint8 = 1 << iota
	withFlagsOnly
)

var (
	// WithTombstones makes an iterator yield tombstones too; a merging
	// iterator needs them to hide the snapshot's values of deleted keys.
	WithTombstones = IterOption{withTombstones}
	// WithFlagsOnly makes an iterator yield keys that have flags but no
	// write (for example keys only locked by a pessimistic lock).
	WithFlagsOnly = IterOption{withFlagsOnly}
)

// Iterator walks the buffer in key order (ascending or descending) over a
// range [start, end). It is the pull form a merge with snapshot reads needs:
// Valid, Entry (or Key, Value, Deleted), Next.
//
//	for it := db.Iter(start, end); it.Valid(); it.Next() {
//		use(it.Key(), it.Value())
//	}
//	if err := it.Err(); err != nil { ... }
//
// Any write to the buffer (including Staging, Release and Cleanup) ends the
// iterator: Valid turns false and Err returns ErrIteratorInvalidated. An
// Iterator is not safe for concurrent use; several iterators may read one
// buffer at the same time (see [MemDB]).
type Iterator struct {
	db      *MemDB
	n       *node
	i       int
	start   []byte
	end     []byte
	reverse bool
	mode    uint8
	version uint64
	cur     addr // entry at the current position
	// The current entry's key, value record and flags, decoded once by
	// settle so that Key, Value and Deleted read no arena header again.
	key   []byte
	val   addr
	flags Flags
	err   error

	warm    bool   // load upcoming leaves' entries ahead (a large buffer)
	values  bool   // Value was called: load upcoming values ahead too
	pending *node  // leaf whose entries were loaded ahead, values not yet
	sink    uint32 // keeps the loads ahead from being optimised away
}

// Iter returns an ascending iterator over keys in [start, end). A nil or
// empty start is the first key, a nil or empty end means no upper bound. By
// default it yields keys with a value and skips tombstones and flags-only
// keys.
func (db *MemDB) Iter(start, end []byte, opts ...IterOption) *Iterator {
	it := &Iterator{}
	db.initIter(it, start, end, false, modeOf(opts))
	return it
}

// IterReverse returns a descending iterator over keys in [start, end),
// beginning at the last key below end (or the last key if end is empty).
func (db *MemDB) IterReverse(start, end []byte, opts ...IterOption) *Iterator {
	it := &Iterator{}
	db.initIter(it, start, end, true, modeOf(opts))
	return it
}

func modeOf(opts []IterOption) uint8 {
	var m uint8
	for _, o := range opts {
		m |= o.mode
	}
	return m
}

func (db *MemDB) initIter(it *Iterator, start, end []byte, reverse bool, mode uint8) {
	*it = Iterator{db: db, start: start, end: end, reverse: reverse, mode: mode, version: db.version}
	db.order() // the keys written since the last ordered read join the tree
	if len(end) > 0 && len(start) > 0 && bytes.Compare(start, end) >= 0 {
		return
	}
	if !reverse {
		if len(start) == 0 {
			it.n, it.i = db.idx.first(), 0
		} else {
			it.n, it.i, _ = db.idx.leafFor(start)
		}
		if it.n != nil && it.i >= int(it.n.n) {
			it.n, it.i = it.n.next, 0
		}
	} else {
		if len(end) == 0 {
			it.n = db.idx.last()
			if it.n != nil {
				it.i = int(it.n.n) - 1
			}
		} else {
			it.n, it.i, _ = db.idx.leafFor(end)
			it.i-- // the slot before the first key >= end
		}
		for it.n != nil && it.i < 0 {
			it.n = it.n.prev
			if it.n != nil {
				it.i = int(it.n.n) - 1
			}
		}
	}
	if it.warm = it.n != nil && db.idx.count >= warmFrom; it.warm {
		it.loadEntries(it.n)
		it.ahead()
	}
	it.settle()
}

// warmFrom is the entry count from which iterators load ahead: below it
// the buffer is mostly cache-resident and the loads would be pure cost.
const warmFrom = 16384

// In a large buffer every step of an iterator misses the cache twice, on
// the entry (key) and on its value record, because entries lie in the
// arenas in write order, not key order. Left to the CPU, those misses are
// taken a key or two at a time. So an iterator entering a leaf loads, in
// one independent burst each, the entries of the leaf after it and (once a
// caller has asked for a value) the value records of this leaf, whose
// entries the previous burst brought in: a two-leaf software pipeline.

// ahead runs the loads for entering it.n.
func (it *Iterator) ahead() {
	n := it.n
	if it.values && it.pending == n {
		it.loadValues(n)
	}
	nx := n.next
	if it.reverse {
		nx = n.prev
	}
	if nx != nil {
		it.loadEntries(nx)
	}
}

// loadEntries loads the header and last key byte of each entry of leaf n.
func (it *Iterator) loadEntries(n *node) {
	ents := &it.db.ents
	var x uint32
	for _, e := range n.keys[:n.n] {
		off := int(e&slotMask) << unitShift
		buf := ents.chunks[e>>(slotShift-unitShift)].buf
		h := binary.LittleEndian.Uint32(buf[off+4:])
		x ^= h ^ uint32(buf[off+entryHdr+int(h>>16)-1])
	}
	it.sink += x
	it.pending = n
}

// loadValues loads the length and last byte of the value record of each
// entry of leaf n (whose entries are already loaded).
func (it *Iterator) loadValues(n *node) {
	db := it.db
	var x uint32
	for _, e := range n.keys[:n.n] {
		v := addr(db.ents.u32(e, 0))
		if v == 0 {
			continue
		}
		off := int(v&slotMask) << unitShift
		buf := db.vlog.chunks[v>>(slotShift-unitShift)].buf
		l := binary.LittleEndian.Uint32(buf[off+8:])
		x ^= l
		if l&tombBit == 0 && l > 0 {
			x ^= uint32(buf[off+vlogHdr+int(l)-1])
		}
	}
	it.sink += x
}

// settle moves forward (in the iterator's direction) from the current slot
// to the first entry the iterator yields, or ends it.
func (it *Iterator) settle() {
	ents := &it.db.ents
	for it.n != nil {
		e := it.n.keys[it.i]
		off := int(e&slotMask) << unitShift
		buf := ents.chunks[e>>(slotShift-unitShift)].buf
		v := addr(binary.LittleEndian.Uint32(buf[off:]))
		hdr := binary.LittleEndian.Uint32(buf[off+4:])
		end := off + entryHdr + int(hdr>>16)
		k := buf[off+entryHdr : end : end]
		f := Flags(hdr & 0xffff)
		if !it.reverse {
			if len(it.end) > 0 && bytes.Compare(k, it.end) >= 0 {
				it.n = nil
				return
			}
		} else if len(it.start) > 0 && bytes.Compare(k, it.start) < 0 {
			it.n = nil
			return
		}
		if it.visible(v, f) {
			it.cur, it.key, it.val, it.flags = e, k, v, f
			return
		}
		it.step()
	}
}

// visible reports whether an entry with value record v and flags f is one
// the iterator yields.
func (it *Iterator) visible(v addr, f Flags) bool {
	switch {
	case f&flagPresent == 0:
		return false
	case v == 0:
		return it.mode&withFlagsOnly != 0
	case f&flagTomb != 0:
		return it.mode&withTombstones != 0
	}
	return true
}

func (it *Iterator) step() {
	if !it.reverse {
		it.i++
		if it.i >= int(it.n.n) {
			it.n, it.i = it.n.next, 0
			if it.warm && it.n != nil {
				it.ahead()
			}
		}
		return
	}
	it.i--
	for it.i < 0 {
		it.n = it.n.prev
		if it.n == nil {
			return
		}
		it.i = int(it.n.n) - 1
		if it.warm {
			it.ahead()
		}
	}
}

// Valid reports whether the iterator is at an entry.
func (it *Iterator) Valid() bool {
	if it.n == nil {
		return false
	}
	if it.version != it.db.version {
		it.n, it.err = nil, ErrIteratorInvalidated
		return false
	}
	return true
}

// Next moves to the next entry.
func (it *Iterator) Next() {
	if !it.Valid() {
		return
	}
	it.step()
	it.settle()
}

// Entry returns the current entry.
func (it *Iterator) Entry() Entry {
	it.values = it.warm
	return it.db.entry(it.cur)
}

// Key returns the current key.
func (it *Iterator) Key() []byte { return it.key }

// Value returns the current value (nil for a tombstone or flags-only key).
// It is read only when asked for, so a walk over keys alone never touches
// the value log.
func (it *Iterator) Value() []byte {
	// From the next leaf on, value records are loaded ahead too.
	it.values = it.warm
	v := it.val
	if it.flags&flagTomb != 0 || v == 0 {
		return nil
	}
	off := int(v&slotMask) << unitShift
	buf := it.db.vlog.chunks[v>>(slotShift-unitShift)].buf
	end := off + vlogHdr + int(binary.LittleEndian.Uint32(buf[off+8:]))
	return buf[off+vlogHdr : end : end]
}

// Deleted reports whether the current entry is a tombstone.
func (it *Iterator) Deleted() bool { return it.flags&flagTomb != 0 }

// Flags returns the current key's flags.
func (it *Iterator) Flags() Flags { return it.flags & userFlags }

// Err returns ErrIteratorInvalidated if the buffer changed under the
// iterator, and nil otherwise.
func (it *Iterator) Err() error { return it.err }

// All returns the keys in [start, end) with their values in ascending
// order, skipping tombstones and flags-only keys; see [MemDB.Iter] for the
// bounds. Writing to the buffer while ranging ends the loop early.
func (db *MemDB) All(start, end []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		var it Iterator
		for db.initIter(&it, start, end, false, 0); it.Valid(); it.Next() {
			if !yield(it.Key(), it.Value()) {
				return
			}
		}
	}
}

// Backward is All in descending order.
func (db *MemDB) Backward(start, end []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		var it Iterator
		for db.initIter(&it, start, end, true, 0); it.Valid(); it.Next() {
			if !yield(it.Key(), it.Value()) {
				return
			}
		}
	}
}

// Entries returns every entry in [start, end) in the given direction,
// including tombstones and, with WithFlagsOnly, flags-only keys.
func (db *MemDB) Entries(start, end []byte, reverse bool, opts ...IterOption) iter.Seq[Entry] {
	return func(yield func(Entry) bool) {
		var it Iterator
		db.initIter(&it, start, end, reverse, modeOf(opts)|withTombstones)
		for ; it.Valid(); it.Next() {
			if !yield(it.Entry()) {
				return
			}
		}
	}
}

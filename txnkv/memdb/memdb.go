package memdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
)

// Entry layout in the entry arena (4-byte aligned):
//
//	[0:4] address of the current value record, 0 if none
//	[4:6] flags
//	[6:8] key length
//	[8:]  key
//
// Value record layout in the value log (4-byte aligned):
//
//	[0:4]  address of the entry it belongs to
//	[4:8]  address of the value record it replaced, 0 if none
//	[8:12] value length; the top bit marks a tombstone
//	[12:]  value
//
// The value log is append-only between checkpoints, so a Cleanup can walk
// the records written since its Staging, point each entry back at the value
// it had before, and truncate the log.
const (
	entryHdr = 8
	vlogHdr  = 12
	tombBit  = 1 << 31

	// MaxKeyLen is the longest key the buffer accepts (the entry header
	// stores the length in 16 bits; TiKV's own limit is lower).
	MaxKeyLen = math.MaxUint16
	// maxValueLen keeps the length below the tombstone bit.
	maxValueLen = tombBit - 1
)

// MemDB is a transaction's write buffer: an ordered map from keys to values
// or tombstones, with per-key [Flags] and nested staging.
//
// Keys and values are copied into two arenas (one for keys, one append-only
// value log) and indexed by a B+tree over 4-byte arena addresses, for
// order, and, in a large buffer, by a flat hash table, for point reads and
// writes; there, keys written since the last ordered read wait in the
// arena and are sorted into the tree by the next one. The buffer
// thus holds a handful of large allocations instead of one or two per
// entry, and costs little beyond the key and value bytes themselves.
//
// Slices returned by reads point into the arenas: they must not be
// modified, and they stay valid until the value they show is overwritten
// (values of equal length are overwritten in place when no open staging
// needs the old one), discarded by Cleanup, or the buffer is Reset.
//
// A MemDB is not safe for concurrent use with a writer: one goroutine
// writes (Set, Delete, UpdateFlags, Staging, Release, Cleanup, Reset) and no
// other goroutine may touch it meanwhile. Any number of goroutines may read
// (Get, Lookup, Flags, iterators, Mutations, the size accessors) at the same
// time as long as none writes; a read changes no state but the hash index
// and the tree, which it brings up to date under a lock.
type MemDB struct {
	ents   arena // entries, never truncated (entries are never removed)
	vlog   arena // value records, truncated by Cleanup
	idx    tree
	hash   hindex
	stages []stage
	seq    uint32 // source of staging handle IDs

	len, size int
	cfg       config // size limits
	version   uint64 // bumped by every change; iterators check it
	hashFrom  int    // entry count at which the hash index is built
	dirty     bool

	// nents counts entries (the tree's and the pending ones); lo and hi
	// are the entries of the smallest and largest key among all of them.
	nents  int
	lo, hi addr
	// Entries below treeTo (an entry arena position) are in the tree; the
	// ones after it are pending (see order). treeUpto is its address, for
	// readers to compare without the lock; omu guards treeTo and the
	// tree against readers that fold at the same time.
	treeTo   checkpoint
	treeUpto atomic.Uint32
	omu      sync.Mutex
}

type stage struct {
	cp checkpoint
	id uint32
}

// New returns an empty buffer.
func New(opts ...Option) *MemDB {
	db := &MemDB{hashFrom: hashFrom}
	// The options write into the buffer itself: a config on the stack
	// would escape through the interface call and cost an allocation.
	db.cfg = config{entryLimit: math.MaxUint64, totalLimit: math.MaxUint64}
	for _, o := range opts {
		o.apply(&db.cfg)
	}
	db.idx.ents = &db.ents
	db.ents.chunks = db.ents.first[:0]
	db.vlog.chunks = db.vlog.first[:0]
	db.hash.seed = maphash.MakeSeed()
	return db
}

// Set buffers value for key and applies ops to its flags. A nil or empty
// value is an empty value, not a delete. Setting a value also clears
// FlagNeedConstraintCheckInPrewrite before ops apply (a written key is
// checked when it is locked or prewritten, not lazily).
func (db *MemDB) Set(key, value []byte, ops ...FlagsOp) error {
	return db.set(key, value, false, ops)
}

// Delete buffers a tombstone for key and applies ops to its flags.
func (db *MemDB) Delete(key []byte, ops ...FlagsOp) error {
	return db.set(key, nil, true, ops)
}

// UpdateFlags applies ops to key's flags without writing a value; a key not
// yet in the buffer is added with flags only. Flag changes are not undone by
// Cleanup, except as described on [MemDB.Cleanup].
func (db *MemDB) UpdateFlags(key []byte, ops ...FlagsOp) error {
	if len(key) > MaxKeyLen {
		return fmt.Errorf("memdb: %w: key of %d bytes, limit %d", ErrEntryTooLarge, len(key), MaxKeyLen)
	}
	var err error
	e := db.entryFor(key, len(key), &err)
	if e == 0 {
		return err
	}
	f := db.entryFlags(e)
	if f&flagPresent == 0 {
		if err := db.checkTotal(len(key)); err != nil {
			return err
		}
		db.len++
		db.size += len(key)
	}
	f = applyOps(f|flagPresent, ops)
	db.setEntryFlags(e, f)
	if f.Persistent() != 0 {
		// A pessimistic lock taken on the server must be committed or
		// rolled back even if no value is written.
		db.dirty = true
	}
	db.version++
	return nil
}

func (db *MemDB) set(key, value []byte, tomb bool, ops []FlagsOp) error {
	if len(key) > MaxKeyLen {
		return fmt.Errorf("memdb: %w: key of %d bytes, limit %d", ErrEntryTooLarge, len(key), MaxKeyLen)
	}
	if sz := uint64(len(key)) + uint64(len(value)); sz > db.cfg.entryLimit || len(value) > maxValueLen {
		return fmt.Errorf("memdb: %w: %d bytes, limit %d", ErrEntryTooLarge, sz, min(db.cfg.entryLimit, maxValueLen))
	}
	var err error
	e := db.entryFor(key, len(key)+len(value), &err)
	if e == 0 {
		return err
	}
	f := db.entryFlags(e)
	old := db.entryValue(e)
	oldLen := 0
	oldTomb := false
	if old != 0 {
		l := db.vlog.u32(old, 8)
		oldTomb = l&tombBit != 0
		oldLen = int(l &^ tombBit)
	}
	delta := len(value) - oldLen
	if f&flagPresent == 0 {
		delta += len(key)
	}
	if delta > 0 {
		if err := db.checkTotal(delta); err != nil {
			return err
		}
	}
	if old != 0 && oldTomb == tomb && oldLen == len(value) && db.modifiable(old) {
		// Same length and no open staging needs the old bytes: reuse the
		// record, as client-go does; repeated updates of a row cost nothing.
		copy(db.vlog.bytes(old+vlogHdr>>unitShift, oldLen), value)
	} else {
		v, ok := db.appendValue(e, old, value, tomb)
		if !ok {
			return fmt.Errorf("memdb: %w: value log full", ErrTxnTooLarge)
		}
		db.setEntryValue(e, v)
	}
	if f&flagPresent == 0 {
		db.len++
	}
	db.size += delta
	f = (f | flagPresent) &^ (FlagNeedConstraintCheckInPrewrite | flagTomb)
	if tomb {
		f |= flagTomb
	}
	f = applyOps(f, ops)
	db.setEntryFlags(e, f)
	db.version++
	if len(db.stages) == 0 || f.Persistent() != 0 {
		db.dirty = true
	}
	return nil
}

// hashed reports whether point lookups and writes go through the hash
// index (and new keys wait in the entry arena for the tree).
func (db *MemDB) hashed() bool {
	return db.nents >= db.hashFrom && db.nents > 0
}

// outside reports whether key is below the smallest key or above the
// largest (the buffer must not be empty). Both keys stay cache-resident,
// so this is cheap next to a probe or a search.
func (db *MemDB) outside(key []byte) bool {
	t := &db.idx
	return bytes.Compare(key, t.key(db.hi)) > 0 || bytes.Compare(key, t.key(db.lo)) < 0
}

// find returns the entry for key, or 0.
func (db *MemDB) find(key []byte) addr {
	t := &db.idx
	if !db.hashed() {
		// A key past the largest is a miss without a descent: reads of
		// keys beyond those written (the next handles) are common. The
		// lower bound is left out; a second compare costs a hit too much.
		if db.nents == 0 || bytes.Compare(key, t.key(db.hi)) > 0 {
			return 0
		}
		return t.get(key)
	}
	if db.outside(key) {
		// Cheaper than a probe, which in a large table is a cache miss:
		// a transaction often reads keys past the ones it wrote.
		return 0
	}
	db.hash.sync(t, db.nents)
	return db.hash.get(t, key, db.hash.hash(key))
}

// entryFor returns the entry for key, creating it when absent; need is
// checked against the total size limit first. It returns 0 with *err set
// when the entry cannot be created.
//
// Below hashFrom entries a new key goes straight into the tree. From then
// on the hash index alone says whether a key exists, and is kept up to
// date by every write; a new key is only appended to the entry arena, and
// joins the tree when an ordered read needs it (see order). A bulk load
// thus pays a probe per key instead of a descent of the tree.
func (db *MemDB) entryFor(key []byte, need int, err *error) addr {
	t := &db.idx
	if !db.hashed() {
		e, created := t.insert(key, func() addr { return db.newEntry(key, need, err) })
		if created {
			db.nents++
			db.lo, db.hi = t.lo, t.hi
			db.treeTo = db.ents.pos()
		}
		return e
	}
	if !db.hash.synced(t.ents) {
		// The first write since the buffer reached hashFrom entries.
		db.hash.sync(t, db.nents)
	}
	// The slot is loaded before anything else: in a large table it is a
	// cache miss, which the compares below then overlap with.
	hv := db.hash.hash(key)
	s0 := db.hash.slots[hv&uint32(len(db.hash.slots)-1)]
	above := bytes.Compare(key, t.key(db.hi)) > 0
	below := !above && bytes.Compare(key, t.key(db.lo)) < 0
	if !above && !below && s0 != 0 {
		if e := db.hash.get(t, key, hv); e != 0 {
			return e
		}
	}
	e := db.newEntry(key, need, err)
	if e == 0 {
		return 0
	}
	db.nents++
	switch {
	case above:
		db.hi = e
	case below:
		db.lo = e
	}
	db.hash.add(hv, e, db.nents, db.ents.pos())
	return e
}

func (db *MemDB) checkTotal(delta int) error {
	if uint64(db.size)+uint64(delta) > db.cfg.totalLimit {
		return fmt.Errorf("memdb: %w: %d bytes, limit %d", ErrTxnTooLarge, db.size+delta, db.cfg.totalLimit)
	}
	return nil
}

// newEntry allocates an entry for key with no value and no flags. need is
// the growth the write that creates it will cause, checked first so that a
// rejected write leaves nothing behind.
func (db *MemDB) newEntry(key []byte, need int, err *error) addr {
	if *err = db.checkTotal(need); *err != nil {
		return 0
	}
	p, b, ok := db.ents.alloc(entryHdr + len(key))
	if !ok {
		*err = fmt.Errorf("memdb: %w: key arena full", ErrTxnTooLarge)
		return 0
	}
	binary.LittleEndian.PutUint32(b, 0)
	binary.LittleEndian.PutUint16(b[4:], 0)
	binary.LittleEndian.PutUint16(b[6:], uint16(len(key)))
	copy(b[entryHdr:], key)
	return p
}

func (db *MemDB) appendValue(e, old addr, value []byte, tomb bool) (addr, bool) {
	p, b, ok := db.vlog.alloc(vlogHdr + len(value))
	if !ok {
		return 0, false
	}
	l := uint32(len(value))
	if tomb {
		l = tombBit
	}
	binary.LittleEndian.PutUint32(b, uint32(e))
	binary.LittleEndian.PutUint32(b[4:], uint32(old))
	binary.LittleEndian.PutUint32(b[8:], l)
	copy(b[vlogHdr:], value)
	return p, true
}

// modifiable reports whether the value record at v may be overwritten: no
// staging is open, or v was written inside the innermost one.
func (db *MemDB) modifiable(v addr) bool {
	return len(db.stages) == 0 || v >= db.stages[len(db.stages)-1].cp.addr()
}

func (db *MemDB) entryValue(e addr) addr { return addr(db.ents.u32(e, 0)) }

func (db *MemDB) setEntryValue(e, v addr) { db.ents.setU32(e, 0, uint32(v)) }

func (db *MemDB) entryFlags(e addr) Flags {
	return Flags(db.ents.u32(e, 4) & 0xffff)
}

func (db *MemDB) setEntryFlags(e addr, f Flags) {
	hdr := db.ents.u32(e, 4)
	db.ents.setU32(e, 4, hdr&^0xffff|uint32(f))
}

// value returns the bytes of the value record v and whether it is a
// tombstone.
func (db *MemDB) value(v addr) ([]byte, bool) {
	l := db.vlog.u32(v, 8)
	if l&tombBit != 0 {
		return nil, true
	}
	return db.vlog.bytes(v+vlogHdr>>unitShift, int(l)), false
}

func (db *MemDB) valueLen(v addr) int {
	if v == 0 {
		return 0
	}
	return int(db.vlog.u32(v, 8) &^ tombBit)
}

// entry builds the read view of entry e.
func (db *MemDB) entry(e addr) Entry {
	f := db.entryFlags(e)
	ent := Entry{Key: db.idx.key(e), Flags: f & userFlags}
	if v := db.entryValue(e); v != 0 {
		ent.written = true
		if f&flagTomb != 0 {
			ent.deleted = true
		} else {
			ent.Value = db.vlog.bytes(v+vlogHdr>>unitShift, int(db.vlog.u32(v, 8)))
		}
	}
	return ent
}

// Get returns the value buffered for key. found is false when the buffer
// holds no value for key or holds a tombstone; use [MemDB.Lookup] to tell
// those apart (a tombstone hides the snapshot's value, no entry does not).
func (db *MemDB) Get(key []byte) (value []byte, found bool) {
	e := db.find(key)
	if e == 0 {
		return nil, false
	}
	v := db.entryValue(e)
	if v == 0 {
		return nil, false
	}
	val, tomb := db.value(v)
	if tomb {
		return nil, false
	}
	return val, true
}

// Lookup returns everything the buffer holds for key: value or tombstone,
// and flags. ok is false when key is not in the buffer at all.
func (db *MemDB) Lookup(key []byte) (Entry, bool) {
	e := db.find(key)
	if e == 0 || db.entryFlags(e)&flagPresent == 0 {
		return Entry{}, false
	}
	return db.entry(e), true
}

// Flags returns key's flags; ok is false when key is not in the buffer.
func (db *MemDB) Flags(key []byte) (Flags, bool) {
	e := db.find(key)
	if e == 0 {
		return 0, false
	}
	f := db.entryFlags(e)
	if f&flagPresent == 0 {
		return 0, false
	}
	return f & userFlags, true
}

// Len returns the number of keys in the buffer (with a value, a tombstone,
// or flags only).
func (db *MemDB) Len() int { return db.len }

// Size returns the bytes of keys and values in the buffer, the quantity the
// total size limit applies to (a tombstone counts its key only).
func (db *MemDB) Size() int { return db.size }

// Mem returns the bytes the buffer has allocated: both arenas' chunks, the
// tree's nodes and the hash index.
func (db *MemDB) Mem() uint64 {
	return db.ents.mem + db.vlog.mem + db.idx.mem + db.hash.mem()
}

// Dirty reports whether the buffer may hold something a commit has to send:
// a write made outside any staging level, a level holding writes released to
// the top, or a persistent flag (a pessimistic lock) set. Like client-go's,
// it is not cleared by a later Cleanup.
func (db *MemDB) Dirty() bool { return db.dirty }

// Reset empties the buffer, keeping its options. Open staging handles
// become invalid.
func (db *MemDB) Reset() {
	db.ents.reset()
	db.vlog.reset()
	db.idx = tree{ents: &db.ents}
	db.hash.reset()
	db.nents, db.lo, db.hi = 0, 0, 0
	db.treeTo = checkpoint{}
	db.treeUpto.Store(0)
	db.stages = db.stages[:0]
	db.len, db.size = 0, 0
	db.dirty = false
	db.version++
}

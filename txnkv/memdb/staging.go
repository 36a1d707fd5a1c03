package memdb

import "fmt"

// StagingHandle names one open staging level of a [MemDB]. The zero value
// names none. A handle is valid from the Staging call that returned it until
// the Release or Cleanup that closes it.
type StagingHandle struct {
	depth uint32
	id    uint32
}

// Staging opens a staging level nested in the current one (a statement, or
// a savepoint within one). Writes made while it is open can be kept with
// [MemDB.Release] or discarded with [MemDB.Cleanup]. Levels close innermost
// first.
func (db *MemDB) Staging() StagingHandle {
	db.seq++
	db.stages = append(db.stages, stage{cp: db.vlog.pos(), id: db.seq})
	db.version++
	return StagingHandle{depth: uint32(len(db.stages)), id: db.seq}
}

func (db *MemDB) checkHandle(h StagingHandle) error {
	if h.depth == 0 || int(h.depth) != len(db.stages) || db.stages[h.depth-1].id != h.id {
		return fmt.Errorf("%w: level %d, %d open", ErrStagingHandle, h.depth, len(db.stages))
	}
	return nil
}

// Release closes the innermost staging level h and keeps its writes: they
// become part of the enclosing level (or of the transaction, at the top).
// It returns ErrStagingHandle, changing nothing, when h is not the innermost
// open level.
func (db *MemDB) Release(h StagingHandle) error {
	if err := db.checkHandle(h); err != nil {
		return err
	}
	if len(db.stages) == 1 && db.vlog.pos() != db.stages[0].cp {
		db.dirty = true
	}
	db.stages = db.stages[:len(db.stages)-1]
	db.version++
	return nil
}

// Cleanup closes the innermost staging level h and discards every value
// and tombstone written since it was opened: each key gets back the value it
// had then. Flags are not rolled back, with one exception that client-go
// also makes: a key that had no value before the level loses its
// non-persistent flags, and leaves the buffer if no persistent flag (a
// pessimistic lock already taken on the server) remains. Keys added by
// UpdateFlags alone stay. It returns ErrStagingHandle, changing nothing,
// when h is not the innermost open level.
func (db *MemDB) Cleanup(h StagingHandle) error {
	if err := db.checkHandle(h); err != nil {
		return err
	}
	cp := db.stages[len(db.stages)-1].cp
	cpAddr := cp.addr()
	db.vlog.walk(cp, func(v addr) int {
		return vlogHdr + int(db.vlog.u32(v, 8)&^tombBit)
	}, func(v addr) {
		old := addr(db.vlog.u32(v, 4))
		if old != 0 && old >= cpAddr {
			// Not the first write to this key since cp: the first one
			// restores the value from before cp.
			return
		}
		e := addr(db.vlog.u32(v, 0))
		curLen := db.valueLen(db.entryValue(e))
		db.setEntryValue(e, old)
		if old != 0 {
			db.size += db.valueLen(old) - curLen
			f := db.entryFlags(e) &^ flagTomb
			if db.vlog.u32(old, 8)&tombBit != 0 {
				f |= flagTomb
			}
			db.setEntryFlags(e, f)
			return
		}
		f := db.entryFlags(e).Persistent()
		if f == 0 {
			db.setEntryFlags(e, 0)
			db.len--
			db.size -= len(db.idx.key(e)) + curLen
			return
		}
		db.setEntryFlags(e, f|flagPresent)
		db.size -= curLen
	})
	db.vlog.truncate(cp)
	db.stages = db.stages[:len(db.stages)-1]
	db.version++
	return nil
}

// StagingDepth returns the number of open staging levels.
func (db *MemDB) StagingDepth() int { return len(db.stages) }

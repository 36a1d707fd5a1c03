package memdb

// SetHashFrom lowers the entry count at which db builds its hash index, so
// that tests of a few keys cover both index modes. Call it on a new buffer.
func SetHashFrom(db *MemDB, n int) { db.hashFrom = n }

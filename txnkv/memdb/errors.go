package memdb

import "errors"

// Sentinel errors. Test for them with errors.Is; the returned errors wrap
// them with the sizes involved. A write that fails changes nothing.
var (
	// ErrEntryTooLarge is returned for a key longer than MaxKeyLen, and when
	// a key and its value together exceed the limit set by
	// WithEntrySizeLimit. (A long key is not a condition of its own:
	// rawkv.ErrKeyTooLarge is raw-API input checking, and docs/errors.md
	// keeps one sentinel per condition.)
	ErrEntryTooLarge = errors.New("memdb: entry too large")
	// ErrTxnTooLarge is returned when a write would take the buffer's Size
	// beyond the limit set by WithTotalSizeLimit (or its arenas beyond their
	// 16 GiB address space).
	ErrTxnTooLarge = errors.New("memdb: transaction too large")
	// ErrStagingHandle is returned by Release and Cleanup for a handle that
	// is not the innermost open staging level (already closed, out of
	// order, or the zero handle).
	ErrStagingHandle = errors.New("memdb: staging handle is not the innermost open level")
	// ErrIteratorInvalidated is reported by an iterator whose buffer was
	// changed after the iterator was created.
	ErrIteratorInvalidated = errors.New("memdb: buffer changed during iteration")
)

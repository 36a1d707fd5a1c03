package memdb

import (
	"errors"

	"github.com/tikvgo/tikvgo/retry"
)

// Sentinel errors. Test for them with errors.Is; the returned errors wrap
// them with the sizes involved. A write that fails changes nothing.
var (
	// ErrEntryTooLarge is retry's shared sentinel, wrapped for a key longer
	// than MaxKeyLen and for a key and its value together over the limit set
	// by WithEntrySizeLimit. One value for the condition whoever notices it:
	// twopc's committer reports the same one.
	ErrEntryTooLarge = retry.ErrEntryTooLarge
	// ErrTxnTooLarge is retry's shared sentinel, wrapped when a write would
	// take the buffer's Size beyond the limit set by WithTotalSizeLimit (or
	// its arenas beyond their 16 GiB address space).
	ErrTxnTooLarge = retry.ErrTxnTooLarge
	// ErrStagingHandle is returned by Release and Cleanup for a handle that
	// is not the innermost open staging level (already closed, out of
	// order, or the zero handle).
	ErrStagingHandle = errors.New("memdb: staging handle is not the innermost open level")
	// ErrIteratorInvalidated is reported by an iterator whose buffer was
	// changed after the iterator was created.
	ErrIteratorInvalidated = errors.New("memdb: buffer changed during iteration")
)

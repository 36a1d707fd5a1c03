package locate

import (
	"errors"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
)

var (
	// ErrRegionNotFound means PD knows no region for a key or id. It is
	// pdclient.ErrRegionNotFound, re-exported; TiKV's RegionNotFound region
	// error is [ErrRegionNotFoundOnStore].
	ErrRegionNotFound = pdclient.ErrRegionNotFound
	// ErrNoPeer is returned when PD reports a region without peers.
	ErrNoPeer = errors.New("locate: region has no peer")
	// ErrStoreNotFound means PD knows no live store for an id (unknown or
	// tombstone). It is pdclient.ErrStoreNotFound, re-exported.
	ErrStoreNotFound = pdclient.ErrStoreNotFound
	// ErrInvalidOption is wrapped by the error New returns for a bad option
	// (retry.ErrInvalidOption, re-exported).
	ErrInvalidOption = retry.ErrInvalidOption
	// ErrInvalidRange is wrapped when a range's end is before its start
	// (retry.ErrInvalidRange, re-exported).
	ErrInvalidRange = retry.ErrInvalidRange
)

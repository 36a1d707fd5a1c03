package locate

import "errors"

var (
	// ErrRegionNotFound is returned when PD knows no region for a key or id.
	ErrRegionNotFound = errors.New("locate: region not found")
	// ErrNoPeer is returned when PD reports a region without peers.
	ErrNoPeer = errors.New("locate: region has no peer")
	// ErrStoreNotFound is returned when PD knows no live store for an id
	// (unknown or tombstone).
	ErrStoreNotFound = errors.New("locate: store not found")
	// ErrInvalidOption is wrapped by the error New returns for a bad option.
	ErrInvalidOption = errors.New("locate: invalid option")
	// ErrInvalidRange is returned when a range's end is before its start.
	ErrInvalidRange = errors.New("locate: invalid key range")
)

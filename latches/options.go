package latches

import (
	"fmt"
	"time"
)

// Defaults applied by [New] when the matching option is not given.
const (
	// DefaultSlots is the slot count used without [WithSlots].
	DefaultSlots = 1 << 16
	// DefaultRecycleAge is the record age used without [WithRecycleAge]. It
	// matches the two minutes client-go keeps latch records.
	DefaultRecycleAge = 2 * time.Minute
	// DefaultMaxRecordsPerSlot is the per-slot record bound used without
	// [WithMaxRecordsPerSlot].
	DefaultMaxRecordsPerSlot = 16
)

// Limits checked by [New]; values outside them make New fail with
// [ErrInvalidOption].
const (
	// MaxSlots is the largest slot count [WithSlots] accepts.
	MaxSlots = 1 << 26
	// MaxRecordsPerSlotLimit is the largest value [WithMaxRecordsPerSlot]
	// accepts. Records in a slot are searched linearly, so the bound stays
	// small.
	MaxRecordsPerSlotLimit = 1024
)

// tsoPhysicalShift is the number of logical bits below the physical
// milliseconds in a TSO timestamp.
const tsoPhysicalShift = 18

// config is the validated result of applying every Option.
type config struct {
	slots      int
	recycleAge time.Duration
	maxRecords int
}

// Option configures [New]. Options are sealed: only this package implements
// them.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// WithSlots sets the number of slots keys hash to. It is rounded up to a power
// of two and must be between 1 and [MaxSlots]; the default is [DefaultSlots].
// More slots mean fewer unrelated transactions serialised by a hash collision,
// at roughly 64 bytes per slot.
func WithSlots(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 || n > MaxSlots {
			return fmt.Errorf("%w: slots %d outside [1, %d]", ErrInvalidOption, n, MaxSlots)
		}
		p := 1
		for p < n {
			p <<= 1
		}
		c.slots = p
		return nil
	})
}

// WithRecycleAge sets how long, in TSO physical time, a key's commit record is
// kept after a newer commit moved the watermark past it. Records older than
// that are dropped when their slot is next released. The default is
// [DefaultRecycleAge]; d must be at least a millisecond.
//
// Dropping a record never breaks correctness: a transaction that started
// before the dropped commit is not flagged stale here, and TiKV still reports
// its write conflict during prewrite.
func WithRecycleAge(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("%w: recycle age %v below 1ms", ErrInvalidOption, d)
		}
		c.recycleAge = d
		return nil
	})
}

// WithMaxRecordsPerSlot bounds how many key commit records one slot keeps, so
// memory stays bounded by slots × n records whatever the commit rate. When a
// slot is full, the record with the oldest commit timestamp is dropped (see
// [WithRecycleAge] for why that is safe). The default is
// [DefaultMaxRecordsPerSlot]; n must be between 1 and [MaxRecordsPerSlotLimit].
func WithMaxRecordsPerSlot(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 || n > MaxRecordsPerSlotLimit {
			return fmt.Errorf("%w: max records per slot %d outside [1, %d]", ErrInvalidOption, n, MaxRecordsPerSlotLimit)
		}
		c.maxRecords = n
		return nil
	})
}

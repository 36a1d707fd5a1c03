package tso

import (
	"fmt"
	"time"
)

// PhysicalShift is the number of low bits holding the logical counter.
const PhysicalShift = 18

// MaxLogical is one past the largest logical counter value.
const MaxLogical = 1 << PhysicalShift

// Timestamp is a TSO timestamp: milliseconds since the Unix epoch in the
// high bits and a logical counter in the low [PhysicalShift] bits. Timestamps
// handed out by a [Client] are unique and strictly increasing.
type Timestamp uint64

// Compose builds a timestamp from its physical part (Unix milliseconds) and
// logical part. Out-of-range logical bits are masked off.
func Compose(physical, logical int64) Timestamp {
	return Timestamp(uint64(physical)<<PhysicalShift | uint64(logical)&(MaxLogical-1))
}

// FromTime returns the smallest timestamp of the millisecond containing t.
func FromTime(t time.Time) Timestamp { return Compose(t.UnixMilli(), 0) }

// Physical returns the physical part, in Unix milliseconds.
func (ts Timestamp) Physical() int64 { return int64(ts >> PhysicalShift) }

// Logical returns the logical counter.
func (ts Timestamp) Logical() int64 { return int64(ts & (MaxLogical - 1)) }

// Time returns the wall-clock time of the physical part.
func (ts Timestamp) Time() time.Time { return time.UnixMilli(ts.Physical()) }

// String formats the timestamp as "physical.logical (value)".
func (ts Timestamp) String() string {
	return fmt.Sprintf("%d.%d(%d)", ts.Physical(), ts.Logical(), uint64(ts))
}

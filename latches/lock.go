package latches

import (
	"bytes"
	"cmp"
	"slices"
	"sync/atomic"
)

// inlineEntries is how many keys a Lock stores without a second allocation;
// most optimistic transactions write only a few keys.
const inlineEntries = 4

// entry is one key of a transaction together with the slot it hashes to.
type entry struct {
	key  []byte
	slot uint32
}

// Lock is the set of slots one transaction holds, from a successful
// [Latches.Acquire] until [Latches.Release]. It keeps references to the keys
// passed to Acquire, so the caller must not modify them before Release.
//
// A Lock belongs to the goroutine that acquired it. [Latches.Release] may be
// called on it from any goroutine, even concurrently; only the first call has
// an effect.
type Lock struct {
	owner   *Latches
	startTS uint64

	// entries are the transaction's keys sorted by (slot, key) with
	// duplicates removed; keys of one slot form a contiguous run, and runs
	// are in increasing slot order, which is the acquisition order.
	entries []entry
	// held is the length of the prefix of entries whose slots this Lock
	// owns.
	held int

	// ready receives one value when a slot this Lock queues on is handed to
	// it. It is created on the first wait and reused, because a Lock waits
	// on at most one slot at a time.
	ready chan struct{}
	// prev, next link the Lock into the FIFO queue of the slot it waits on;
	// queued is that slot. All three are guarded by that slot's mutex.
	prev, next *Lock
	queued     *slot

	released atomic.Bool
	inline   [inlineEntries]entry
}

// StartTS returns the start timestamp the Lock was acquired for.
func (k *Lock) StartTS() uint64 { return k.startTS }

// newLock builds the Lock for startTS and keys, hashing, sorting and
// de-duplicating without touching the caller's slice.
func (l *Latches) newLock(startTS uint64, keys [][]byte) *Lock {
	k := &Lock{owner: l, startTS: startTS}
	if len(keys) <= inlineEntries {
		k.entries = k.inline[:0]
	} else {
		k.entries = make([]entry, 0, len(keys))
	}
	for _, key := range keys {
		k.entries = append(k.entries, entry{key: key, slot: l.slotOf(key)})
	}
	// Sorting by slot first gives every transaction the same global
	// acquisition order, which is what rules out deadlock; sorting by key
	// within a slot makes duplicates adjacent.
	slices.SortFunc(k.entries, func(a, b entry) int {
		if c := cmp.Compare(a.slot, b.slot); c != 0 {
			return c
		}
		return bytes.Compare(a.key, b.key)
	})
	k.entries = slices.CompactFunc(k.entries, func(a, b entry) bool {
		return a.slot == b.slot && bytes.Equal(a.key, b.key)
	})
	return k
}

// runEnd returns the end of the run of entries that share the slot of
// entries[i].
func (k *Lock) runEnd(i int) int {
	j := i + 1
	for j < len(k.entries) && k.entries[j].slot == k.entries[i].slot {
		j++
	}
	return j
}

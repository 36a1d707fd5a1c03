package peer

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"sort"
)

// SynthRegions lays out N regions over TiDB-shaped row keys, the same for
// every worker, so the region caches under comparison hold the same
// regions. Region i starts at the row key of table 100+i/4096, handle
// (i%4096)*1000 (19 bytes: 't', an 8-byte table id, "_r", an 8-byte
// handle, both memcomparable); region 0 starts at the empty key and the
// last one ends at it. Each worker builds the region metadata from these
// keys: id i+1, three peers on stores 1-3 with ids (i+1)*10+1..3, the
// leader on store 1, epoch conf_ver 5 and version 10+i%7.
type SynthRegions struct{ N int }

const rowsPerTable = 4096

// rowKey returns the row key of (table, handle).
func rowKey(table, handle uint64) []byte {
	k := make([]byte, 0, 19)
	k = append(k, 't')
	k = binary.BigEndian.AppendUint64(k, table^(1<<63))
	k = append(k, '_', 'r')
	return binary.BigEndian.AppendUint64(k, handle^(1<<63))
}

// StartKey returns region i's start key (nil for region 0).
func (s SynthRegions) StartKey(i int) []byte {
	if i == 0 {
		return nil
	}
	return rowKey(100+uint64(i/rowsPerTable), uint64(i%rowsPerTable)*1000)
}

// EndKey returns region i's end key (nil for the last region).
func (s SynthRegions) EndKey(i int) []byte {
	if i >= s.N-1 {
		return nil
	}
	return s.StartKey(i + 1)
}

// ProbeKey returns a key strictly inside region i.
func (s SynthRegions) ProbeKey(i int) []byte {
	return rowKey(100+uint64(i/rowsPerTable), uint64(i%rowsPerTable)*1000+500)
}

// Index returns the index of the region containing key.
func (s SynthRegions) Index(key []byte) int {
	return sort.Search(s.N-1, func(i int) bool { return bytes.Compare(key, s.StartKey(i+1)) < 0 })
}

// Probes returns count keys, each inside a random region, and the region
// ids (index+1) they must locate to.
func (s SynthRegions) Probes(count int, seed uint64) ([][]byte, []uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(s.N)))
	keys := make([][]byte, count)
	ids := make([]uint64, count)
	for i := range keys {
		j := rng.IntN(s.N)
		keys[i], ids[i] = s.ProbeKey(j), uint64(j+1)
	}
	return keys, ids
}

// LocateBatch is how many regions one synthetic PD scan returns while a
// cache is warmed; both caches load through their batched path with it.
const LocateBatch = 512

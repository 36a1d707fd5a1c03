package latches

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestNewLockSortsAndDeduplicates(t *testing.T) {
	l, err := New(WithSlots(8))
	if err != nil {
		t.Fatal(err)
	}
	keys := [][]byte{[]byte("c"), []byte("a"), []byte("b"), []byte("a"), []byte("c"), {}, {}}
	orig := make([][]byte, len(keys))
	copy(orig, keys)

	k := l.newLock(7, keys)

	if !slices.EqualFunc(keys, orig, bytes.Equal) {
		t.Fatalf("caller's keys reordered: %q", keys)
	}
	if got, want := len(k.entries), 4; got != want {
		t.Fatalf("entries = %d, want %d distinct keys", got, want)
	}
	for i := 1; i < len(k.entries); i++ {
		a, b := k.entries[i-1], k.entries[i]
		if a.slot > b.slot || (a.slot == b.slot && bytes.Compare(a.key, b.key) >= 0) {
			t.Fatalf("entries not strictly sorted by (slot, key) at %d: %+v", i, k.entries)
		}
	}
	for _, e := range k.entries {
		if e.slot != l.slotOf(e.key) {
			t.Fatalf("key %q in slot %d, hashes to %d", e.key, e.slot, l.slotOf(e.key))
		}
	}
}

func TestRunEnd(t *testing.T) {
	k := &Lock{entries: []entry{{slot: 1}, {slot: 1}, {slot: 3}, {slot: 5}, {slot: 5}, {slot: 5}}}
	var ends []int
	for i := 0; i < len(k.entries); i = k.runEnd(i) {
		ends = append(ends, k.runEnd(i))
	}
	if want := []int{2, 3, 6}; !slices.Equal(ends, want) {
		t.Fatalf("run ends = %v, want %v", ends, want)
	}
}

func TestSlotRecordBoundsAndAging(t *testing.T) {
	tests := []struct {
		name       string
		existing   []record
		keys       []string
		commitTS   uint64
		cutoff     uint64
		maxRecords int
		want       []record
	}{
		{
			name:       "update keeps newest",
			existing:   []record{{"a", 50}},
			keys:       []string{"a"},
			commitTS:   40,
			maxRecords: 4,
			want:       []record{{"a", 50}},
		},
		{
			name:       "full slot evicts oldest",
			existing:   []record{{"a", 30}, {"b", 10}, {"c", 20}},
			keys:       []string{"d"},
			commitTS:   40,
			maxRecords: 3,
			want:       []record{{"a", 30}, {"c", 20}, {"d", 40}},
		},
		{
			name:       "aged records dropped first",
			existing:   []record{{"a", 30}, {"b", 10}, {"c", 20}},
			keys:       []string{"d"},
			commitTS:   40,
			cutoff:     25,
			maxRecords: 3,
			want:       []record{{"a", 30}, {"d", 40}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &slot{records: slices.Clone(tc.existing)}
			var es []entry
			for _, k := range tc.keys {
				es = append(es, entry{key: []byte(k)})
			}
			s.record(es, tc.commitTS, tc.cutoff, tc.maxRecords)
			got := slices.Clone(s.records)
			slices.SortFunc(got, func(a, b record) int { return strings.Compare(a.key, b.key) })
			if !slices.Equal(got, tc.want) {
				t.Fatalf("records = %v, want %v", got, tc.want)
			}
		})
	}
}

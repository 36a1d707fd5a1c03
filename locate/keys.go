package locate

import (
	"bytes"
	"context"
	"fmt"
)

// Group is a set of keys that live in one region.
type Group struct {
	Location Location
	Keys     [][]byte
}

// GroupKeysByRegion partitions keys by the region containing them. Groups
// come out in the order their first key appears in keys, and keys keep their
// relative order inside a group. Sorted input is cheapest: consecutive keys of
// one region cost a single range check.
func (c *Cache) GroupKeysByRegion(ctx context.Context, keys [][]byte) ([]Group, error) {
	var (
		groups []Group
		index  map[VerID]int
		last   = -1
	)
	for _, k := range keys {
		if last >= 0 && groups[last].Location.Contains(k) {
			groups[last].Keys = append(groups[last].Keys, k)
			continue
		}
		loc, err := c.LocateKey(ctx, k)
		if err != nil {
			return nil, err
		}
		if index == nil {
			index = make(map[VerID]int)
		}
		i, ok := index[loc.Region]
		if !ok {
			i = len(groups)
			index[loc.Region] = i
			groups = append(groups, Group{Location: loc})
		}
		groups[i].Keys = append(groups[i].Keys, k)
		last = i
	}
	return groups, nil
}

// Range is the part of a key range that lies in one region.
type Range struct {
	Location Location
	// Start and End clip the region's range to the requested one; an empty
	// End means +inf.
	Start []byte
	End   []byte
}

// SplitRangeByRegions cuts [start, end) at region boundaries and returns the
// pieces in key order. An empty end means +inf.
func (c *Cache) SplitRangeByRegions(ctx context.Context, start, end []byte) ([]Range, error) {
	if len(end) > 0 && bytes.Compare(start, end) > 0 {
		return nil, fmt.Errorf("locate: %w: [%q, %q)", ErrInvalidRange, start, end)
	}
	var out []Range
	key := start
	for {
		loc, err := c.LocateKey(ctx, key)
		if err != nil {
			return nil, err
		}
		r := Range{Location: loc, Start: key, End: loc.EndKey}
		last := len(loc.EndKey) == 0 || (len(end) > 0 && bytes.Compare(loc.EndKey, end) >= 0)
		if last {
			r.End = end
		}
		out = append(out, r)
		if last {
			return out, nil
		}
		key = loc.EndKey
	}
}

// LocateKeyRange returns the locations of every region overlapping
// [start, end), in key order. An empty end means +inf.
func (c *Cache) LocateKeyRange(ctx context.Context, start, end []byte) ([]Location, error) {
	rs, err := c.SplitRangeByRegions(ctx, start, end)
	if err != nil {
		return nil, err
	}
	locs := make([]Location, len(rs))
	for i, r := range rs {
		locs[i] = r.Location
	}
	return locs, nil
}

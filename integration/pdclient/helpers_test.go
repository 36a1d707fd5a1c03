package pdclient_test

import "github.com/tikvgo/tikvgo/pdclient"

func regionIDs(rs []*pdclient.Region) []uint64 {
	var ids []uint64
	for _, r := range rs {
		ids = append(ids, r.Meta.Id)
	}
	return ids
}

func equalIDs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

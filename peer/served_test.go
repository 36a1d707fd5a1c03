package peer

import (
	"slices"
	"testing"
)

func TestUnservedExcusesOnlyExceptions(t *testing.T) {
	const excused = "/test.Service/Excused"
	ServedExceptions[excused] = "test"
	defer delete(ServedExceptions, excused)
	got := Unserved(map[string]int{excused: 3, "/b.S/M": 1, "/a.S/M": 2})
	if want := []string{"/a.S/M (2 calls)", "/b.S/M (1 calls)"}; !slices.Equal(got, want) {
		t.Errorf("Unserved = %q, want %q", got, want)
	}
	for m, why := range ServedExceptions {
		if why == "" {
			t.Errorf("exception %s has no reason", m)
		}
	}
}

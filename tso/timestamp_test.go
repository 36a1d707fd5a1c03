package tso_test

import (
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/tso"
)

func TestTimestampParts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		physical, logical int64
	}{
		{"zero", 0, 0},
		{"logical", 1_700_000_000_000, 12345},
		{"maxLogical", 1_700_000_000_000, tso.MaxLogical - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := tso.Compose(tc.physical, tc.logical)
			if ts.Physical() != tc.physical || ts.Logical() != tc.logical {
				t.Fatalf("Compose(%d,%d) = %d -> (%d,%d)", tc.physical, tc.logical, ts, ts.Physical(), ts.Logical())
			}
			if uint64(ts) != uint64(tc.physical)<<18|uint64(tc.logical) {
				t.Fatalf("layout: %d", ts)
			}
		})
	}
	now := time.UnixMilli(1_700_000_123_456)
	ts := tso.FromTime(now)
	if !ts.Time().Equal(now) || ts.Logical() != 0 {
		t.Fatalf("FromTime/Time round trip: %v -> %v", now, ts.Time())
	}
	if tso.Compose(5, 1) <= tso.Compose(4, tso.MaxLogical-1) {
		t.Fatal("physical must dominate logical")
	}
	if got := tso.Compose(1, 3).String(); got != "1.3(262147)" {
		t.Fatalf("String = %q", got)
	}
}

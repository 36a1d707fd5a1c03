package peer

import (
	"testing"
	"time"
)

func TestLatencyHistBuckets(t *testing.T) {
	for _, ns := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 123456, 1 << 30, 1<<40 - 1} {
		i := histIndex(ns)
		if lo, hi := histLower(i), histLower(i+1); ns < lo || ns >= hi {
			t.Errorf("%d ns -> bucket %d [%d, %d)", ns, i, lo, hi)
		}
		if i > 0 && histIndex(histLower(i)-1) != i-1 {
			t.Errorf("bucket %d: lower bound %d not adjacent to bucket %d", i, histLower(i), i-1)
		}
	}
	var h latencyHist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	got := h.quantile(0.99)
	if want := 990 * time.Microsecond; got < want || float64(got) > float64(want)*1.04 {
		t.Errorf("p99 of 1..1000µs = %v, want about %v", got, want)
	}
}

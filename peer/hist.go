package peer

import (
	"math/bits"
	"time"
)

// latencyHist is a log-linear latency histogram: 64 buckets per power of
// two, so a reported quantile is within 1/64 (1.6%) of the true value. It
// records without allocating; one goroutine owns each instance.
type latencyHist struct {
	n       uint64
	buckets [histExps * histSub]uint32
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histExps    = 40 - histSubBits + 1 // up to 2^40ns (18 minutes)
)

func histIndex(ns uint64) int {
	if ns < histSub {
		return int(ns)
	}
	exp := bits.Len64(ns) - histSubBits // >= 1
	if exp >= histExps {
		return len(latencyHist{}.buckets) - 1
	}
	return exp*histSub + int(ns>>(exp-1)) - histSub
}

// histLower is the smallest duration (ns) that lands in bucket i.
func histLower(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	exp, sub := i/histSub, i%histSub
	return uint64(histSub+sub) << (exp - 1)
}

func (h *latencyHist) record(d time.Duration) {
	h.n++
	h.buckets[histIndex(uint64(max(d, 0)))]++
}

func (h *latencyHist) merge(o *latencyHist) {
	h.n += o.n
	for i, c := range o.buckets {
		h.buckets[i] += c
	}
}

// quantile returns the upper bound of the bucket holding quantile q.
func (h *latencyHist) quantile(q float64) time.Duration {
	rank := uint64(q * float64(h.n))
	var seen uint64
	for i, c := range h.buckets {
		seen += uint64(c)
		if seen > rank {
			return time.Duration(histLower(i + 1))
		}
	}
	return time.Duration(histLower(len(h.buckets)))
}

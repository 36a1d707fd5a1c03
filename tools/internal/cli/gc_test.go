package cli_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tools/internal/cli"
)

type gcStateJSON struct {
	TxnSafePoint     uint64 `json:"txn_safe_point"`
	TxnSafePointTime string `json:"txn_safe_point_time"`
	GCSafePoint      uint64 `json:"gc_safe_point"`
	GCSafePointTime  string `json:"gc_safe_point_time"`
	Barriers         []struct {
		ID         string `json:"id"`
		TS         uint64 `json:"ts"`
		TTLSeconds int64  `json:"ttl_seconds"`
	} `json:"barriers"`
}

// TestGC shows the GC state of a fresh cluster, runs a round to a fresh
// timestamp in both formats and shows the state it left.
func TestGC(t *testing.T) {
	_, pd := startSim(t, tikvsim.Options{SplitKeys: [][]byte{tikvsim.EncodeKey([]byte("m"))}})
	var st gcStateJSON
	decode(t, mustRun(t, nil, pd, "-o", "json", "gc", "state"), &st)
	if st.TxnSafePoint != 0 || st.GCSafePoint != 0 || len(st.Barriers) != 0 {
		t.Fatalf("fresh state %+v", st)
	}
	var ts struct {
		TSO          uint64 `json:"tso"`
		Physical     int64  `json:"physical"`
		PhysicalTime string `json:"physical_time"`
		Logical      int64  `json:"logical"`
	}
	decode(t, mustRun(t, nil, pd, "-o", "json", "tso"), &ts)
	var res struct {
		Target       uint64 `json:"target"`
		TxnSafePoint uint64 `json:"txn_safe_point"`
		GCSafePoint  uint64 `json:"gc_safe_point"`
		Blocker      string `json:"blocker"`
		Regions      int    `json:"regions"`
		Locks        int    `json:"locks"`
	}
	decode(t, mustRun(t, nil, pd, "-o", "json", "gc", "run", "--safe-point", fmt.Sprint(ts.TSO)), &res)
	if res.Target != ts.TSO || res.TxnSafePoint != ts.TSO || res.GCSafePoint != ts.TSO || res.Regions != 2 {
		t.Fatalf("gc run = %+v, want both safe points at %d over 2 regions", res, ts.TSO)
	}
	decode(t, mustRun(t, nil, pd, "-o", "json", "gc", "state"), &st)
	if st.TxnSafePoint != ts.TSO || st.GCSafePoint != ts.TSO {
		t.Fatalf("state after the round %+v", st)
	}
	// A target below the safe point leaves it where it is.
	out := strings.Join(strings.Fields(mustRun(t, nil, pd, "gc", "run", "--ago", "1h")), " ")
	for _, want := range []string{"TARGET", fmt.Sprintf("GC SAFE POINT %d", ts.TSO), "REGIONS 2", "LOCKS RESOLVED 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output %q lacks %q", out, want)
		}
	}
	if out := strings.Join(strings.Fields(mustRun(t, nil, pd, "gc", "state")), " "); !strings.Contains(out, fmt.Sprintf("GC SAFE POINT %d", ts.TSO)) {
		t.Errorf("text state %q does not show the GC safe point %d", out, ts.TSO)
	}
}

func TestGCRunUsage(t *testing.T) {
	_, pd := startSim(t, tikvsim.Options{})
	for _, args := range [][]string{{"gc", "run"}, {"gc", "run", "--safe-point", "5", "--ago", "1m"}, {"gc", "run", "--ago", "-1m"}} {
		if r := run(t, "", nil, append([]string{pd}, args...)...); !errors.Is(r.err, cli.ErrUsage) {
			t.Errorf("tikv %v: err %v, want ErrUsage", args, r.err)
		}
	}
}

package cli_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tools/internal/cli"
)

// TestSplitAndScatter splits a cluster through the CLI, in both output
// formats, scatters a new region and waits for it, and checks the result
// with `regions`.
func TestSplitAndScatter(t *testing.T) {
	c, pd := startSim(t, tikvsim.Options{})
	var split struct {
		RegionIDs []uint64 `json:"region_ids"`
		Scattered bool     `json:"scattered"`
		Waited    bool     `json:"waited"`
	}
	decode(t, mustRun(t, nil, pd, "-o", "json", "split", "--wait", "k", "d"), &split)
	if len(split.RegionIDs) != 2 || !split.Scattered || !split.Waited {
		t.Fatalf("split = %+v", split)
	}
	for _, k := range []string{"d", "k"} {
		r, err := c.RegionByKey([]byte(k))
		if err != nil || string(r.StartKey) != k {
			t.Fatalf("region of %q = %+v, %v; want one starting there", k, r, err)
		}
	}
	// Splitting at a boundary again creates nothing; text output has the header only.
	if out := mustRun(t, nil, pd, "split", "d"); strings.TrimSpace(out) != "NEW REGION" {
		t.Fatalf("split at a boundary printed %q", out)
	}
	// Transactional keys land at their encoded form.
	mustRun(t, nil, pd, "split", "--keys", "txn", "t")
	if r, err := c.RegionByKey([]byte("t")); err != nil || string(r.StartKey) == "t" {
		t.Fatalf("a txn split at t made region %+v, %v: want the encoded key as boundary", r, err)
	}

	id := split.RegionIDs[0]
	var sc struct {
		RegionIDs []uint64 `json:"region_ids"`
		Waited    bool     `json:"waited"`
	}
	decode(t, mustRun(t, nil, pd, "-o", "json", "scatter", "--wait", "--group", "g", itoa(id)), &sc)
	if len(sc.RegionIDs) != 1 || sc.RegionIDs[0] != id || !sc.Waited {
		t.Fatalf("scatter = %+v", sc)
	}
	if out := mustRun(t, nil, pd, "scatter", itoa(id)); !strings.Contains(out, "scatter started") {
		t.Fatalf("scatter text = %q", out)
	}
}

func TestSplitAndScatterUsage(t *testing.T) {
	_, pd := startSim(t, tikvsim.Options{})
	for name, args := range map[string][]string{
		"no keys":       {pd, "split"},
		"bad key mode":  {pd, "split", "--keys", "hex", "a"},
		"empty key":     {pd, "split", ""},
		"no regions":    {pd, "scatter"},
		"bad region id": {pd, "scatter", "x"},
		"zero region":   {pd, "scatter", "0"},
	} {
		t.Run(name, func(t *testing.T) {
			r := run(t, "", nil, args...)
			if !errors.Is(r.err, cli.ErrUsage) && !strings.Contains(r.err.Error(), "arg") {
				t.Fatalf("tikv %v = %v, want a usage error", args, r.err)
			}
		})
	}
}

func itoa(id uint64) string { return strconv.FormatUint(id, 10) }

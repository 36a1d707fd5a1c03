package cli_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestTSOText runs `tikv tso` against an embedded cluster (no --pd) and
// checks that the printed parts compose the printed timestamp.
func TestTSOText(t *testing.T) {
	before := time.Now().Add(-time.Second)
	out := mustRun(t, nil, "tso")
	fields := map[string]string{}
	for line := range strings.Lines(out) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			t.Fatalf("line %q has no value", line)
		}
		fields[name] = strings.TrimSpace(rest)
	}
	ts, err := strconv.ParseUint(fields["TSO"], 10, 64)
	if err != nil {
		t.Fatalf("TSO line in %q: %v", out, err)
	}
	physStr, _, _ := strings.Cut(fields["PHYSICAL"], " ")
	phys, err1 := strconv.ParseInt(physStr, 10, 64)
	logical, err2 := strconv.ParseInt(fields["LOGICAL"], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if got := uint64(phys)<<18 | uint64(logical); got != ts {
		t.Errorf("physical %d, logical %d compose %d, printed TSO %d", phys, logical, got, ts)
	}
	if pt := time.UnixMilli(phys); pt.Before(before) || pt.After(time.Now().Add(time.Second)) {
		t.Errorf("physical time %v is not now", pt)
	}
}

// TestTSOJSON checks the JSON document of `tikv tso` and its field names.
func TestTSOJSON(t *testing.T) {
	_, pd := startSim(t, tikvsim.Options{})
	var doc struct {
		TSO          uint64 `json:"tso"`
		Physical     int64  `json:"physical"`
		PhysicalTime string `json:"physical_time"`
		Logical      int64  `json:"logical"`
	}
	decode(t, mustRun(t, nil, pd, "--output", "json", "tso"), &doc)
	if doc.TSO == 0 || doc.TSO != uint64(doc.Physical)<<18|uint64(doc.Logical) {
		t.Errorf("inconsistent timestamp %+v", doc)
	}
	pt, err := time.Parse(time.RFC3339Nano, doc.PhysicalTime)
	if err != nil || pt.UnixMilli() != doc.Physical {
		t.Errorf("physical_time %q does not match physical %d (%v)", doc.PhysicalTime, doc.Physical, err)
	}
	// A second call gets a later timestamp from the same cluster.
	var next struct {
		TSO          uint64 `json:"tso"`
		Physical     int64  `json:"physical"`
		PhysicalTime string `json:"physical_time"`
		Logical      int64  `json:"logical"`
	}
	decode(t, mustRun(t, nil, pd, "-o", "json", "tso"), &next)
	if next.TSO <= doc.TSO {
		t.Errorf("second timestamp %d not after first %d", next.TSO, doc.TSO)
	}
}

type regionJSON struct {
	ID       uint64 `json:"id"`
	StartKey struct {
		Text string `json:"text"`
		Hex  string `json:"hex"`
	} `json:"start_key"`
	EndKey struct {
		Text string `json:"text"`
		Hex  string `json:"hex"`
	} `json:"end_key"`
	ConfVer     uint64 `json:"conf_ver"`
	Version     uint64 `json:"version"`
	LeaderStore uint64 `json:"leader_store"`
	Peers       []struct {
		ID      uint64 `json:"id"`
		StoreID uint64 `json:"store_id"`
		Role    string `json:"role"`
	} `json:"peers"`
}

// TestRegions lists the regions of a cluster split at b, d and f, with
// ranges, limits, a moved leader and both output formats.
func TestRegions(t *testing.T) {
	c, pd := startSim(t, tikvsim.Options{SplitKeys: [][]byte{[]byte("b"), []byte("d"), []byte("f")}})
	rd, err := c.RegionByKey([]byte("d"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.TransferLeader(rd.ID, 3); err != nil {
		t.Fatal(err)
	}
	list := func(args ...string) []regionJSON {
		t.Helper()
		var doc struct {
			Regions []regionJSON `json:"regions"`
		}
		decode(t, mustRun(t, nil, append([]string{pd, "-o", "json", "regions"}, args...)...), &doc)
		return doc.Regions
	}
	starts := func(rs []regionJSON) []string {
		var s []string
		for _, r := range rs {
			s = append(s, r.StartKey.Text+"-"+r.EndKey.Text)
		}
		return s
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"all", nil, []string{"-b", "b-d", "d-f", "f-"}},
		{"from c", []string{"--start", "c"}, []string{"b-d", "d-f", "f-"}},
		{"c to e", []string{"--start", "c", "--end", "e"}, []string{"b-d", "d-f"}},
		{"limit", []string{"--start", "c", "--limit", "1"}, []string{"b-d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := starts(list(tt.args...)); !slices.Equal(got, tt.want) {
				t.Errorf("regions %v = %v, want %v", tt.args, got, tt.want)
			}
		})
	}

	for _, r := range list() {
		info, err := c.Region(r.ID)
		if err != nil {
			t.Fatalf("region %d printed but unknown to the cluster: %v", r.ID, err)
		}
		if r.LeaderStore != info.Leader || r.Version != info.Version || r.ConfVer != info.ConfVer {
			t.Errorf("region %d: printed leader %d epoch %d/%d, cluster has %d, %d/%d",
				r.ID, r.LeaderStore, r.ConfVer, r.Version, info.Leader, info.ConfVer, info.Version)
		}
		if len(r.Peers) != len(info.Peers) {
			t.Errorf("region %d: %d peers printed, cluster has %d", r.ID, len(r.Peers), len(info.Peers))
		}
		for _, p := range r.Peers {
			if p.Role != "voter" {
				t.Errorf("region %d peer %d role %q, want voter", r.ID, p.ID, p.Role)
			}
		}
		if r.ID == rd.ID && r.LeaderStore != 3 {
			t.Errorf("region %d leader store %d after transfer to 3", r.ID, r.LeaderStore)
		}
	}

	text := mustRun(t, nil, pd, "regions", "--start", "d", "--limit", "1")
	lines := slices.Collect(strings.Lines(text))
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("text output %q: want a header and one row", text)
	}
	row := strings.Fields(lines[1])
	want := []string{strconv.FormatUint(rd.ID, 10), "d", "f", fmt.Sprintf("%d/%d", rd.ConfVer, rd.Version), "3"}
	if len(row) != 6 || !slices.Equal(row[:5], want) {
		t.Errorf("row %q, want %v followed by peers", row, want)
	}
	if !strings.Contains(mustRun(t, nil, pd, "regions", "--end", "b"), "-inf") {
		t.Error("the first region's empty start key is not shown as -inf")
	}
}

// TestStores lists the stores of a four-store cluster.
func TestStores(t *testing.T) {
	c, pd := startSim(t, tikvsim.Options{Stores: 4})
	var doc struct {
		Stores []struct {
			ID      uint64            `json:"id"`
			Address string            `json:"address"`
			State   string            `json:"state"`
			Labels  map[string]string `json:"labels"`
			Version string            `json:"version"`
		} `json:"stores"`
	}
	decode(t, mustRun(t, nil, pd, "-o", "json", "stores"), &doc)
	want := c.Stores()
	if len(doc.Stores) != len(want) {
		t.Fatalf("%d stores printed, cluster has %d", len(doc.Stores), len(want))
	}
	for i, s := range doc.Stores {
		if s.ID != want[i].ID || s.Address != want[i].Addr || s.State != "Up" || s.Labels == nil {
			t.Errorf("store %d printed as %+v, cluster has %+v", i, s, want[i])
		}
	}

	text := mustRun(t, nil, pd, "stores")
	lines := slices.Collect(strings.Lines(text))
	if len(lines) != 5 || strings.Join(strings.Fields(lines[0]), " ") != "ID ADDRESS STATE LABELS" {
		t.Fatalf("text output %q", text)
	}
	// Columns are aligned: every row starts its address where the header's
	// ADDRESS starts.
	col := strings.Index(lines[0], "ADDRESS")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l[col:], "127.0.0.1:") {
			t.Errorf("row %q not aligned under ADDRESS", l)
		}
	}
}

// TestAPIVersionReachesEmbeddedCluster checks --api-version v2 --keyspace:
// the embedded cluster is started in V2 with the keyspace, whose region
// boundaries show up in `regions`.
func TestAPIVersionReachesEmbeddedCluster(t *testing.T) {
	var doc struct {
		Regions []regionJSON `json:"regions"`
	}
	decode(t, mustRun(t, nil, "--api-version", "v2", "--keyspace", "ks1", "-o", "json", "regions"), &doc)
	// Keyspace 1's raw prefix 'r' 0 0 1, memcomparable-encoded.
	want := tikvsim.EncodeKey([]byte{'r', 0, 0, 1})
	found := false
	for _, r := range doc.Regions {
		if r.StartKey.Hex == fmt.Sprintf("%x", want) {
			found = true
		}
	}
	if !found {
		t.Errorf("no region starts at keyspace 1's raw prefix %x in %+v", want, doc.Regions)
	}
}

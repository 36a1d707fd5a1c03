package tikv_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

func TestRegionAdminSplitAndScatter(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{})
	c := newClient(t, sim)
	ctx := t.Context()
	adm := c.Regions()

	ids, err := adm.Split(ctx, [][]byte{[]byte("m"), []byte("c")}, tikv.WithKeyMode(tikv.RawKeys),
		tikv.WithWaitScatter(), tikv.WithScatterPoll(time.Millisecond))
	if err != nil || len(ids) != 2 {
		t.Fatalf("Split = %v, %v; want 2 new regions", ids, err)
	}
	regions, err := c.PD().ScanRegions(ctx, nil, nil, 0)
	if err != nil || len(regions) != 3 {
		t.Fatalf("ScanRegions = %d regions, %v; want 3", len(regions), err)
	}
	if got := string(regions[1].Meta.GetStartKey()); got != "c" {
		t.Fatalf("second region starts at %q, want c", got)
	}
	// A boundary already there makes nothing new.
	if again, err := adm.Split(ctx, [][]byte{[]byte("c")}, tikv.WithKeyMode(tikv.RawKeys)); err != nil || len(again) != 0 {
		t.Fatalf("Split at a boundary = %v, %v", again, err)
	}
	// Transactional keys (the default) are split at their memcomparable form.
	if _, err := adm.Split(ctx, [][]byte{[]byte("t")}); err != nil {
		t.Fatal(err)
	}
	r, err := c.PD().GetRegion(ctx, keycodec.EncodeBytes([]byte("t")))
	if err != nil || string(r.Meta.GetStartKey()) != string(keycodec.EncodeBytes([]byte("t"))) {
		t.Fatalf("region at encoded t = %v, %v", r, err)
	}

	// A wait whose deadline passes while the operator runs reports it.
	if err := adm.Scatter(ctx, ids[:1]); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	err = adm.WaitScatter(wctx, ids[:1], tikv.WithScatterPoll(time.Hour))
	var we *tikv.ScatterWaitError
	if !errors.As(err, &we) || !errors.Is(err, tikv.ErrScatterUnfinished) || !errors.Is(err, context.DeadlineExceeded) ||
		len(we.Pending) != 1 || we.Pending[0] != ids[0] {
		t.Fatalf("WaitScatter past its deadline = %v", err)
	}
	// The next poll sees the operator done.
	if err := adm.WaitScatter(ctx, ids[:1], tikv.WithScatterPoll(time.Millisecond)); err != nil {
		t.Fatalf("WaitScatter = %v", err)
	}
	// A region with no operator at all is done at once.
	if err := adm.WaitScatter(ctx, []uint64{regions[0].Meta.GetId()}); err != nil {
		t.Fatalf("WaitScatter without operator = %v", err)
	}
}

func TestRegionAdminRejectsBadInput(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{})
	c := newClient(t, sim)
	ctx := t.Context()
	adm := c.Regions()
	if _, err := adm.Split(ctx, [][]byte{[]byte("a"), nil}); !errors.Is(err, tikv.ErrEmptyKey) {
		t.Fatalf("Split with an empty key = %v, want ErrEmptyKey", err)
	}
	if _, err := adm.Split(ctx, [][]byte{[]byte("a")}, tikv.WithKeyMode(tikv.KeyMode(9))); !errors.Is(err, tikv.ErrInvalidOption) {
		t.Fatalf("Split with a bad mode = %v, want ErrInvalidOption", err)
	}
	if err := adm.WaitScatter(ctx, []uint64{1}, tikv.WithScatterPoll(0)); !errors.Is(err, tikv.ErrInvalidOption) {
		t.Fatalf("WaitScatter with a zero poll = %v, want ErrInvalidOption", err)
	}
	err := adm.Scatter(ctx, []uint64{1 << 40})
	var se *tikv.ScatterError
	if !errors.As(err, &se) || !errors.Is(err, tikv.ErrScatterFailed) || len(se.Failed) != 1 {
		t.Fatalf("Scatter of an unknown region = %v", err)
	}
}

package tikv_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
)

// TestMaxStalenessTSUsesPolledSafeTS: once the background loop has polled
// the stores, a max-staleness read resolves to their safe ts when that is
// fresher than the bound, and StaleTS honours its age.
func TestMaxStalenessTSUsesPolledSafeTS(t *testing.T) {
	t.Parallel()
	sim := startSim(t, tikvsim.Options{})
	ctx := t.Context()
	r, err := sim.RegionByKey([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	safe := sim.CurrentTS()
	if err := sim.SetSafeTS(r.ID, safe); err != nil {
		t.Fatal(err)
	}
	polls := make(chan struct{}, 256)
	t.Cleanup(sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "GetStoreSafeTS" {
			select {
			case polls <- struct{}{}:
			default:
			}
		}
	}))
	c := newClient(t, sim, tikv.WithSafeTSPoll(2*time.Millisecond))
	// The first request loads the region's stores into the cache, which
	// the loop then polls.
	if err := c.Raw().Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	for len(polls) > 0 {
		<-polls
	}
	// A round polls at most 3 stores and ends before the next begins:
	// seven polls from here span a whole round made after the Put.
	for range 7 {
		select {
		case <-polls:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	got, err := c.MaxStalenessTS(ctx, time.Hour)
	if err != nil || uint64(got) != safe {
		t.Fatalf("MaxStalenessTS(1h) = %d, %v; want the safe ts %d", got, err, safe)
	}
	// StaleTS counts back from the oracle's estimate of PD's clock (the
	// low-resolution ts plus the time since it arrived), which runs ahead
	// of the low-resolution ts by up to its refresh interval.
	old, err := c.StaleTS(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now, err := c.LowResolutionTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := now.Physical() - old.Physical(); d < 55_000 || d > 70_000 {
		t.Fatalf("StaleTS(1m) is %d ms before the low-resolution ts, want about 60000", d)
	}
	if _, err := c.StaleTS(ctx, -time.Second); !errors.Is(err, tso.ErrInvalidArgument) {
		t.Fatalf("StaleTS(-1s) = %v, want tso.ErrInvalidArgument", err)
	}
}

func TestSafeTSPollRejectsNegative(t *testing.T) {
	t.Parallel()
	if _, err := tikv.New(t.Context(), []string{"127.0.0.1:1"}, tikv.WithSafeTSPoll(-time.Second)); !errors.Is(err, tikv.ErrInvalidOption) {
		t.Fatalf("New: %v, want ErrInvalidOption", err)
	}
}

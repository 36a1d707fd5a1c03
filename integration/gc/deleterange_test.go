package gc_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/tikvgo/tikvgo/gc"
)

func TestDeleteRangeDespiteFaults(t *testing.T) {
	e := startEnv(t, splits, gc.WithConcurrency(2))
	var keep []string
	for i := range 26 {
		k := fmt.Sprintf("%c", 'a'+i)
		e.put(k, "v")
		if k < "c" || k >= "o" {
			keep = append(keep, k)
		}
	}
	e.lock("e1", e.now()) // a live lock inside the range goes too

	var last gc.Progress
	hit := faults(t, e)
	prog, err := e.gc.DeleteRange(t.Context(), []byte("c"), []byte("o"), gc.WithProgress(func(p gc.Progress) {
		last = p
		hit(p)
	}))
	if err != nil {
		t.Fatalf("DeleteRange: %v", err)
	}
	if prog != last || prog.Done != prog.Total || prog.Total != 7 || prog.Regions < 8 {
		t.Errorf("progress %+v (last report %+v): want 7 pieces over at least 8 regions", prog, last)
	}
	if got := e.keys("", ""); !slices.Equal(got, keep) {
		t.Errorf("keys after DeleteRange = %q, want %q", got, keep)
	}
	if got := e.locks(e.now()); len(got) != 0 {
		t.Errorf("locks after DeleteRange: %q", got)
	}
}

func TestDeleteRangeInvalid(t *testing.T) {
	e := startEnv(t, nil)
	if _, err := e.gc.DeleteRange(t.Context(), []byte("b"), []byte("a")); !errors.Is(err, gc.ErrInvalidRange) {
		t.Errorf("reversed range: %v, want ErrInvalidRange", err)
	}
	if err := e.gc.UnsafeDestroyRange(t.Context(), []byte("a"), nil); !errors.Is(err, gc.ErrInvalidRange) {
		t.Errorf("open range: %v, want ErrInvalidRange", err)
	}
}

func TestUnsafeDestroyRange(t *testing.T) {
	e := startEnv(t, splits)
	for i := range 26 {
		e.put(fmt.Sprintf("%c", 'a'+i), "v")
	}
	e.lock("g1", e.now())
	var (
		mu     sync.Mutex
		stores []uint64
	)
	remove := e.sim.OnRequest(func(store uint64, cmd string) {
		if cmd == "UnsafeDestroyRange" {
			mu.Lock()
			stores = append(stores, store)
			mu.Unlock()
		}
	})
	defer remove()
	if err := e.gc.UnsafeDestroyRange(t.Context(), []byte("c"), []byte("x")); err != nil {
		t.Fatalf("UnsafeDestroyRange: %v", err)
	}
	remove()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(stores)
	if !slices.Equal(stores, []uint64{1, 2, 3}) {
		t.Errorf("sent to stores %v, want every store once", stores)
	}
	if got := e.keys("", ""); !slices.Equal(got, []string{"a", "b", "x", "y", "z"}) {
		t.Errorf("keys = %q", got)
	}
	if got := e.locks(e.now()); len(got) != 0 {
		t.Errorf("locks: %q", got)
	}
}

package tikvsim_test

import (
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestFaultHeld shows Held announces a request parked on Hold, so a test
// can act at that moment (cancel the caller, change the cluster) without
// sleeping, and that a request the fault does not match is not announced.
func TestFaultHeld(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	kv := kvClients(t, c)
	hold := make(chan struct{})
	held := make(chan struct{}, 1)
	c.InjectFault(tikvsim.Fault{Command: "RawGet", Key: []byte("parked"), Count: 1, Hold: hold, Held: held})

	if _, err := kv[ri.Leader].RawGet(tctx(t), &kvrpcpb.RawGetRequest{Context: rctx(ri, 0), Key: []byte("other")}); err != nil {
		t.Fatalf("RawGet(other): %v", err)
	}
	select {
	case <-held:
		t.Fatal("Held announced a request the fault does not match")
	default:
	}
	errc := make(chan error, 1)
	go func() {
		_, err := kv[ri.Leader].RawGet(tctx(t), &kvrpcpb.RawGetRequest{Context: rctx(ri, 0), Key: []byte("parked")})
		errc <- err
	}()
	<-held
	select {
	case err := <-errc:
		t.Fatalf("held RawGet returned before release: %v", err)
	default:
	}
	close(hold)
	if err := <-errc; err != nil {
		t.Fatalf("released RawGet: %v", err)
	}
}

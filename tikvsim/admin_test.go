package tikvsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/tikvsim"
)

func TestAdminHandler(t *testing.T) {
	c := start(t, tikvsim.Options{})
	srv := httptest.NewServer(tikvsim.AdminHandler(c))
	defer srv.Close()
	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, out := post("/split", `{"key":"m"}`)
	if code != http.StatusOK || out["region"] == nil {
		t.Fatalf("split: %d %v", code, out)
	}
	resp, err := http.Get(srv.URL + "/regions")
	if err != nil {
		t.Fatal(err)
	}
	var regions []tikvsim.RegionInfo
	if err := json.NewDecoder(resp.Body).Decode(&regions); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(regions) != 2 {
		t.Fatalf("%d regions after split", len(regions))
	}
	if code, out := post("/merge", `{"region":1,"target":2}`); code != http.StatusBadRequest || out["error"] == nil {
		t.Fatalf("bad merge: %d %v", code, out)
	}
	if code, _ := post("/fault", `{"command":"RawGet","count":1,"region_error":{"message":"injected","server_is_busy":{"reason":"x"}}}`); code != http.StatusOK {
		t.Fatalf("fault: %d", code)
	}
	ri := rawRegionFor(t, c, []byte("a"))
	kv := kvClients(t, c)
	got, err := kv[ri.Leader].RawGet(tctx(t), &kvrpcpb.RawGetRequest{Context: rctx(ri, 0), Key: []byte("a")})
	if err != nil || got.GetRegionError().GetServerIsBusy() == nil {
		t.Fatalf("injected through admin: %v %v", got, err)
	}
	to := follower(t, ri)
	if code, out := post("/transfer-leader", `{"region":`+itoa(int(ri.ID))+`,"store":`+itoa(int(to))+`}`); code != http.StatusOK {
		t.Fatalf("transfer-leader: %d %v", code, out)
	}
	if cur, _ := c.Region(ri.ID); cur.Leader != to {
		t.Fatalf("leader %d, want %d", cur.Leader, to)
	}
	if code, _ := post("/pd-fault", `{"method":"GetRegion","count":1,"header_error":99}`); code != http.StatusBadRequest {
		t.Fatalf("bad pd-fault accepted: %d", code)
	}
	if code, out := post("/pd-fault", `{"method":"GetAllStores","any_member":true,"count":1,"grpc_code":14}`); code != http.StatusOK {
		t.Fatalf("pd-fault: %d %v", code, out)
	}
	if _, err := pdClient(t, c, 0).GetAllStores(tctx(t), &pdpb.GetAllStoresRequest{Header: hdr(c)}); status.Code(err) != codes.Unavailable {
		t.Fatalf("pd fault through admin: %v", err)
	}
	if code, _ := post("/pause-tso", ""); code != http.StatusOK {
		t.Fatalf("pause-tso: %d", code)
	}
	if code, _ := post("/resume-tso", ""); code != http.StatusOK {
		t.Fatalf("resume-tso: %d", code)
	}
}

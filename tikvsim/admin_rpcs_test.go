package tikvsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestAdminRPCCounts checks GET /rpcs counts calls by server, method and
// code, Unimplemented answers included, from the handler's creation on.
func TestAdminRPCCounts(t *testing.T) {
	c := start(t, tikvsim.Options{Stores: 1})
	srv := httptest.NewServer(tikvsim.AdminHandler(c))
	defer srv.Close()
	ctx := tctx(t)
	pd := pdClient(t, c, 0)
	for range 2 {
		if _, err := pd.GetMembers(ctx, &pdpb.GetMembersRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = tikvpb.NewTikvClient(dial(t, c.Stores()[0].Addr)).KvGC(ctx, &kvrpcpb.GCRequest{})

	resp, err := http.Get(srv.URL + "/rpcs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rows []tikvsim.RPCCount
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []tikvsim.RPCCount{
		{Server: tikvsim.ServerPD, Method: "/pdpb.PD/GetMembers", Code: "OK", Count: 2},
		{Server: tikvsim.ServerStore, Method: "/tikvpb.Tikv/KvGC", Code: "Unimplemented", Count: 1},
	} {
		if !slices.Contains(rows, want) {
			t.Errorf("GET /rpcs = %+v, lacks %+v", rows, want)
		}
	}
}

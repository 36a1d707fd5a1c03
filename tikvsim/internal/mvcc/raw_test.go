package mvcc_test

import (
	"hash/crc64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim/internal/mvcc"
)

// fakeClock is an injectable wall clock for raw TTL tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var (
	v1    = &kvrpcpb.Context{ApiVersion: kvrpcpb.APIVersion_V1}
	v1ttl = &kvrpcpb.Context{ApiVersion: kvrpcpb.APIVersion_V1TTL}
	v2    = &kvrpcpb.Context{ApiVersion: kvrpcpb.APIVersion_V2}
)

func rawPut(t testing.TB, e *mvcc.Engine, c *kvrpcpb.Context, k, v string, ttl uint64) {
	t.Helper()
	if r := e.RawPut(t.Context(), &kvrpcpb.RawPutRequest{Context: c, Key: []byte(k), Value: []byte(v), Ttl: ttl}); r.Error != "" {
		t.Fatalf("raw put %q: %s", k, r.Error)
	}
}

func rawScanString(pairs []*kvrpcpb.KvPair) string {
	var sb strings.Builder
	for _, p := range pairs {
		if p.Error != nil {
			sb.WriteString("!" + p.Error.Abort + " ")
			continue
		}
		sb.WriteString(string(p.Key) + "=" + string(p.Value) + " ")
	}
	return sb.String()
}

func TestRaw_TTL(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_000_000, 0)}
	e := mvcc.New(mvcc.Options{Now: clk.Now})
	t.Cleanup(e.Close)
	for _, c := range []*kvrpcpb.Context{v1ttl, v2} {
		rawPut(t, e, c, "r-ttl", "x", 10)
		rawPut(t, e, c, "r-forever", "y", 0)
		ttl := e.RawGetKeyTTL(t.Context(), &kvrpcpb.RawGetKeyTTLRequest{Context: c, Key: []byte("r-ttl")})
		if ttl.Error != "" || ttl.NotFound || ttl.Ttl != 10 {
			t.Fatalf("ttl: %v", ttl)
		}
		if ttl := e.RawGetKeyTTL(t.Context(), &kvrpcpb.RawGetKeyTTLRequest{Context: c, Key: []byte("r-forever")}); ttl.Ttl != 0 || ttl.NotFound {
			t.Fatalf("no-ttl key: %v", ttl)
		}
		clk.Advance(4 * time.Second)
		if ttl := e.RawGetKeyTTL(t.Context(), &kvrpcpb.RawGetKeyTTLRequest{Context: c, Key: []byte("r-ttl")}); ttl.Ttl != 6 {
			t.Fatalf("remaining ttl: %v", ttl)
		}
		clk.Advance(6 * time.Second)
		if g := e.RawGet(t.Context(), &kvrpcpb.RawGetRequest{Context: c, Key: []byte("r-ttl")}); !g.NotFound {
			t.Fatalf("expired key still visible: %v", g)
		}
		sc := e.RawScan(t.Context(), &kvrpcpb.RawScanRequest{Context: c, StartKey: []byte("r"), Limit: 10})
		if got := rawScanString(sc.Kvs); got != "r-forever=y " {
			t.Fatalf("scan after expiry: %q", got)
		}
		cas := e.RawCompareAndSwap(t.Context(), &kvrpcpb.RawCASRequest{Context: c, Key: []byte("r-ttl"), Value: []byte("z"), PreviousNotExist: true})
		if !cas.Succeed || !cas.PreviousNotExist {
			t.Fatalf("cas over expired key: %v", cas)
		}
	}
}

func TestRaw_CompareAndSwap(t *testing.T) {
	e := newEngine(t)
	cas := func(req *kvrpcpb.RawCASRequest) *kvrpcpb.RawCASResponse {
		req.Key = []byte("k")
		return e.RawCompareAndSwap(t.Context(), req)
	}
	tests := []struct {
		name                 string
		req                  *kvrpcpb.RawCASRequest
		succeed, prevMissing bool
		prev                 string
		after                string // "" = absent
	}{
		{"put if absent", &kvrpcpb.RawCASRequest{Value: []byte("a"), PreviousNotExist: true}, true, true, "", "a"},
		{"absent expected but present", &kvrpcpb.RawCASRequest{Value: []byte("b"), PreviousNotExist: true}, false, false, "a", "a"},
		{"wrong previous", &kvrpcpb.RawCASRequest{Value: []byte("b"), PreviousValue: []byte("x")}, false, false, "a", "a"},
		{"swap", &kvrpcpb.RawCASRequest{Value: []byte("b"), PreviousValue: []byte("a")}, true, false, "a", "b"},
		{"empty previous is a value", &kvrpcpb.RawCASRequest{Value: []byte("c"), PreviousValue: []byte{}}, false, false, "b", "b"},
		{"delete", &kvrpcpb.RawCASRequest{Delete: true, PreviousValue: []byte("b")}, true, false, "b", ""},
		{"delete absent", &kvrpcpb.RawCASRequest{Delete: true, PreviousNotExist: true}, true, true, "", ""},
	}
	for _, tt := range tests {
		r := cas(tt.req)
		if r.Error != "" || r.Succeed != tt.succeed || r.PreviousNotExist != tt.prevMissing || string(r.PreviousValue) != tt.prev {
			t.Fatalf("%s: %v", tt.name, r)
		}
		g := e.RawGet(t.Context(), &kvrpcpb.RawGetRequest{Key: []byte("k")})
		if (tt.after == "") != g.NotFound || string(g.Value) != tt.after {
			t.Fatalf("%s: after = %v", tt.name, g)
		}
	}
}

func TestRaw_ChecksumScanAndColumnFamilies(t *testing.T) {
	e := newEngine(t)
	for _, k := range []string{"a", "b", "c", "d"} {
		rawPut(t, e, v1, k, "v"+k, 0)
	}
	if r := e.RawPut(t.Context(), &kvrpcpb.RawPutRequest{Key: []byte("a"), Value: []byte("lockcf"), Cf: "lock"}); r.Error != "" {
		t.Fatal(r.Error)
	}
	want := crc64.Checksum([]byte("bvb"), crc64.MakeTable(crc64.ECMA)) ^ crc64.Checksum([]byte("cvc"), crc64.MakeTable(crc64.ECMA))
	cs := e.RawChecksum(t.Context(), &kvrpcpb.RawChecksumRequest{
		Algorithm: kvrpcpb.ChecksumAlgorithm_Crc64_Xor,
		Ranges:    []*kvrpcpb.KeyRange{{StartKey: []byte("b"), EndKey: []byte("d")}},
	})
	if cs.Error != "" || cs.Checksum != want || cs.TotalKvs != 2 || cs.TotalBytes != 6 {
		t.Fatalf("checksum = %v, want %d", cs, want)
	}
	tests := []struct {
		name string
		got  []*kvrpcpb.KvPair
		want string
	}{
		{"scan", e.RawScan(t.Context(), &kvrpcpb.RawScanRequest{StartKey: []byte("b"), Limit: 10}).Kvs, "b=vb c=vc d=vd "},
		{"scan key only", e.RawScan(t.Context(), &kvrpcpb.RawScanRequest{StartKey: []byte("b"), EndKey: []byte("d"), Limit: 10, KeyOnly: true}).Kvs, "b= c= "},
		{"reverse scan", e.RawScan(t.Context(), &kvrpcpb.RawScanRequest{StartKey: []byte("d"), EndKey: []byte("a"), Limit: 10, Reverse: true}).Kvs, "c=vc b=vb a=va "},
		{"cf lock", e.RawScan(t.Context(), &kvrpcpb.RawScanRequest{Cf: "lock", Limit: 10}).Kvs, "a=lockcf "},
		{"batch scan", e.RawBatchScan(t.Context(), &kvrpcpb.RawBatchScanRequest{
			Ranges: []*kvrpcpb.KeyRange{{StartKey: []byte("a")}, {StartKey: []byte("c")}}, EachLimit: 1,
		}).Kvs, "a=va c=vc "},
		{"batch scan open end stops at next range", e.RawBatchScan(t.Context(), &kvrpcpb.RawBatchScanRequest{
			Ranges: []*kvrpcpb.KeyRange{{StartKey: []byte("a")}, {StartKey: []byte("c")}}, EachLimit: 5,
		}).Kvs, "a=va b=vb c=vc d=vd "},
		{"batch scan reverse", e.RawBatchScan(t.Context(), &kvrpcpb.RawBatchScanRequest{
			Ranges: []*kvrpcpb.KeyRange{{StartKey: []byte("z"), EndKey: []byte("c")}, {StartKey: []byte("b"), EndKey: []byte("a")}}, EachLimit: 1, Reverse: true,
		}).Kvs, "d=vd a=va "},
		{"batch get", e.RawBatchGet(t.Context(), &kvrpcpb.RawBatchGetRequest{Keys: bkeys("d", "zz", "a")}).Pairs, "d=vd a=va "},
	}
	for _, tt := range tests {
		if got := rawScanString(tt.got); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, got, tt.want)
		}
	}
	e.RawDeleteRange(t.Context(), &kvrpcpb.RawDeleteRangeRequest{StartKey: []byte("b"), EndKey: []byte("d")})
	e.RawBatchDelete(t.Context(), &kvrpcpb.RawBatchDeleteRequest{Keys: bkeys("a")})
	if got := rawScanString(e.RawScan(t.Context(), &kvrpcpb.RawScanRequest{Limit: 10}).Kvs); got != "d=vd " {
		t.Fatalf("after deletes: %q", got)
	}
	e.RawBatchPut(t.Context(), &kvrpcpb.RawBatchPutRequest{Pairs: []*kvrpcpb.KvPair{{Key: []byte("x"), Value: []byte("1")}, {Key: []byte("y"), Value: []byte("2")}}})
	e.RawDelete(t.Context(), &kvrpcpb.RawDeleteRequest{Key: []byte("x")})
	if got := rawScanString(e.RawScan(t.Context(), &kvrpcpb.RawScanRequest{StartKey: []byte("x"), Limit: 10}).Kvs); got != "y=2 " {
		t.Fatalf("after batch put: %q", got)
	}
}

func TestRaw_Errors(t *testing.T) {
	e := newEngine(t)
	big := make([]byte, 8193)
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"ttl under V1", e.RawPut(t.Context(), &kvrpcpb.RawPutRequest{Context: v1, Key: []byte("k"), Ttl: 5}).Error, "ttl is not enabled"},
		{"batch ttl under V1", e.RawBatchPut(t.Context(), &kvrpcpb.RawBatchPutRequest{Context: v1, Pairs: []*kvrpcpb.KvPair{{Key: []byte("k")}}, Ttls: []uint64{5}}).Error, "ttl is not enabled"},
		{"ttl length mismatch", e.RawBatchPut(t.Context(), &kvrpcpb.RawBatchPutRequest{Context: v2, Pairs: []*kvrpcpb.KvPair{{Key: []byte("rk")}, {Key: []byte("rl")}, {Key: []byte("rm")}}, Ttls: []uint64{1, 2}}).Error, "The length of ttls does not equal"},
		{"invalid cf", e.RawGet(t.Context(), &kvrpcpb.RawGetRequest{Key: []byte("k"), Cf: "bogus"}).Error, "invalid cf name: bogus"},
		{"cf under V2", e.RawGet(t.Context(), &kvrpcpb.RawGetRequest{Context: v2, Key: []byte("rk"), Cf: "default"}).Error, "cf is deprecated in API V2"},
		{"key too large", e.RawPut(t.Context(), &kvrpcpb.RawPutRequest{Key: big}).Error, "max key size exceeded, size: 8193, limit: 8192"},
		{"get ttl under V1", e.RawGetKeyTTL(t.Context(), &kvrpcpb.RawGetKeyTTLRequest{Context: v1, Key: []byte("k")}).Error, "non-ttl"},
		{"checksum algorithm", e.RawChecksum(t.Context(), &kvrpcpb.RawChecksumRequest{Algorithm: kvrpcpb.ChecksumAlgorithm(9)}).Error, "checksum algorithm"},
		{"batch scan invalid range", rawScanString(e.RawBatchScan(t.Context(), &kvrpcpb.RawBatchScanRequest{Ranges: []*kvrpcpb.KeyRange{{StartKey: []byte("b"), EndKey: []byte("a")}}, EachLimit: 1}).Kvs), "Invalid KeyRanges"},
		{"scan invalid cf", rawScanString(e.RawScan(t.Context(), &kvrpcpb.RawScanRequest{Cf: "x", Limit: 1}).Kvs), "invalid cf name"},
		{"delete range inverted", e.RawDeleteRange(t.Context(), &kvrpcpb.RawDeleteRangeRequest{StartKey: []byte("b"), EndKey: []byte("a")}).Error, "start_key must be less"},
	}
	for _, tt := range tests {
		if !strings.Contains(tt.got, tt.want) {
			t.Errorf("%s: error %q, want it to contain %q", tt.name, tt.got, tt.want)
		}
	}
}

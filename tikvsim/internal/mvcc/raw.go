package mvcc

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc64"

	"github.com/google/btree"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// rawEntry is one RawKV key with its value and expiry (unix seconds, 0 =
// never).
type rawEntry struct {
	key    []byte
	value  []byte
	expire uint64
}

// rawSpace is one raw column family.
type rawSpace struct {
	m map[string]*rawEntry
	t *btree.BTreeG[*rawEntry]
}

func newRawSpace() *rawSpace {
	return &rawSpace{
		m: make(map[string]*rawEntry),
		t: btree.NewG(32, func(a, b *rawEntry) bool { return bytes.Compare(a.key, b.key) < 0 }),
	}
}

func (s *rawSpace) put(key, value []byte, expire uint64) {
	if en := s.m[string(key)]; en != nil {
		en.value, en.expire = bytes.Clone(value), expire
		return
	}
	en := &rawEntry{key: bytes.Clone(key), value: bytes.Clone(value), expire: expire}
	if en.value == nil {
		en.value = []byte{}
	}
	s.m[string(en.key)] = en
	s.t.ReplaceOrInsert(en)
}

func (s *rawSpace) del(key []byte) {
	if en := s.m[string(key)]; en != nil {
		delete(s.m, string(key))
		s.t.Delete(en)
	}
}

// rawCtx is the per-request view of the raw store: column family, whether
// TTL is enabled and the current unix time.
type rawCtx struct {
	space *rawSpace
	ttlOn bool
	nowS  uint64
}

// rawSetup validates api version and cf. Caller holds e.rawMu.
func (e *Engine) rawSetup(c *kvrpcpb.Context, cf string) (rawCtx, string) {
	api := c.GetApiVersion()
	rc := rawCtx{ttlOn: api != kvrpcpb.APIVersion_V1, nowS: uint64(e.now().Unix())}
	if api == kvrpcpb.APIVersion_V2 && cf != "" {
		return rc, "cf is deprecated in API V2, cf name: " + cf
	}
	switch cf {
	case "", "default":
		rc.space = e.raw[0]
	case "lock":
		rc.space = e.raw[1]
	case "write":
		rc.space = e.raw[2]
	default:
		return rc, "invalid cf name: " + cf
	}
	return rc, ""
}

func (rc *rawCtx) live(en *rawEntry) bool {
	return en != nil && (en.expire == 0 || en.expire > rc.nowS)
}

func (rc *rawCtx) get(key []byte) (*rawEntry, bool) {
	en := rc.space.m[string(key)]
	return en, rc.live(en)
}

// expireAt converts a ttl in seconds into an expiry.
func (rc *rawCtx) expireAt(ttl uint64) (uint64, string) {
	if ttl == 0 {
		return 0, ""
	}
	if !rc.ttlOn {
		return 0, "ttl is not enabled, but get put request with ttl"
	}
	return satAdd(rc.nowS, ttl), ""
}

func rawKeyTooLarge(key []byte) string {
	if len(key) > maxKeySize {
		return fmt.Sprintf("max key size exceeded, size: %d, limit: %d", len(key), maxKeySize)
	}
	return ""
}

// rawKeysTooLarge is the error text for the first key over TiKV's limit;
// a compare-and-swap's writes are not checked (TiKV checks them elsewhere).
func rawKeysTooLarge(forCas bool, keys ...[]byte) string {
	if forCas {
		return ""
	}
	for _, k := range keys {
		if msg := rawKeyTooLarge(k); msg != "" {
			return msg
		}
	}
	return ""
}

// rawWrite runs apply under the write lock in the request's raw context.
// Both return the response's error text, "" on success.
func (e *Engine) rawWrite(c *kvrpcpb.Context, cf string, apply func(rc *rawCtx) string) string {
	e.rawMu.Lock()
	defer e.rawMu.Unlock()
	rc, msg := e.rawSetup(c, cf)
	if msg != "" {
		return msg
	}
	return apply(&rc)
}

// rawRead is rawWrite under the read lock.
func (e *Engine) rawRead(c *kvrpcpb.Context, cf string, apply func(rc *rawCtx) string) string {
	e.rawMu.RLock()
	defer e.rawMu.RUnlock()
	rc, msg := e.rawSetup(c, cf)
	if msg != "" {
		return msg
	}
	return apply(&rc)
}

func rawPairErr(msg string) []*kvrpcpb.KvPair {
	return []*kvrpcpb.KvPair{{Error: abortErr(msg)}}
}

// RawGet returns the value of key, or not_found.
func (e *Engine) RawGet(ctx context.Context, req *kvrpcpb.RawGetRequest) *kvrpcpb.RawGetResponse {
	resp := &kvrpcpb.RawGetResponse{}
	resp.Error = e.rawRead(req.GetContext(), req.GetCf(), func(rc *rawCtx) string {
		if en, ok := rc.get(req.GetKey()); ok {
			resp.Value = en.value
		} else {
			resp.NotFound = true
		}
		return ""
	})
	return resp
}

// RawBatchGet returns the found keys in request order.
func (e *Engine) RawBatchGet(ctx context.Context, req *kvrpcpb.RawBatchGetRequest) *kvrpcpb.RawBatchGetResponse {
	resp := &kvrpcpb.RawBatchGetResponse{}
	e.rawMu.RLock()
	defer e.rawMu.RUnlock()
	rc, msg := e.rawSetup(req.GetContext(), req.GetCf())
	if msg != "" {
		resp.Pairs = rawPairErr(msg)
		return resp
	}
	for _, k := range req.GetKeys() {
		if en, ok := rc.get(k); ok {
			resp.Pairs = append(resp.Pairs, &kvrpcpb.KvPair{Key: k, Value: en.value})
		}
	}
	return resp
}

// RawPut writes key with an optional TTL (seconds).
func (e *Engine) RawPut(ctx context.Context, req *kvrpcpb.RawPutRequest) *kvrpcpb.RawPutResponse {
	resp := &kvrpcpb.RawPutResponse{}
	if resp.Error = rawKeysTooLarge(req.GetForCas(), req.GetKey()); resp.Error != "" {
		return resp
	}
	resp.Error = e.rawWrite(req.GetContext(), req.GetCf(), func(rc *rawCtx) string {
		exp, msg := rc.expireAt(req.GetTtl())
		if msg == "" {
			rc.space.put(req.GetKey(), req.GetValue(), exp)
		}
		return msg
	})
	return resp
}

// RawBatchPut writes pairs with ttls (none, one for all, or one each).
func (e *Engine) RawBatchPut(ctx context.Context, req *kvrpcpb.RawBatchPutRequest) *kvrpcpb.RawBatchPutResponse {
	resp := &kvrpcpb.RawBatchPutResponse{}
	pairs, ttls := req.GetPairs(), req.GetTtls()
	if !req.GetForCas() {
		for _, p := range pairs {
			if resp.Error = rawKeyTooLarge(p.GetKey()); resp.Error != "" {
				return resp
			}
		}
	}
	ttlOf := func(i int) uint64 {
		switch {
		case len(ttls) == 0:
			return 0
		case len(ttls) == 1:
			return ttls[0]
		}
		return ttls[i]
	}
	resp.Error = e.rawWrite(req.GetContext(), req.GetCf(), func(rc *rawCtx) string {
		if !rc.ttlOn {
			for _, t := range ttls {
				if t != 0 {
					return "ttl is not enabled, but get put request with ttl"
				}
			}
			if len(ttls) > 1 && len(ttls) < len(pairs) {
				pairs = pairs[:len(ttls)] // quirk: trailing pairs are dropped
			}
		} else if len(ttls) > 1 && len(ttls) != len(pairs) {
			return "The length of ttls does not equal to the length of pairs"
		}
		for i, p := range pairs {
			exp, _ := rc.expireAt(ttlOf(i))
			rc.space.put(p.GetKey(), p.GetValue(), exp)
		}
		return ""
	})
	return resp
}

// RawDelete deletes key.
func (e *Engine) RawDelete(ctx context.Context, req *kvrpcpb.RawDeleteRequest) *kvrpcpb.RawDeleteResponse {
	resp := &kvrpcpb.RawDeleteResponse{}
	if resp.Error = rawKeysTooLarge(req.GetForCas(), req.GetKey()); resp.Error != "" {
		return resp
	}
	resp.Error = e.rawWrite(req.GetContext(), req.GetCf(), func(rc *rawCtx) string {
		rc.space.del(req.GetKey())
		return ""
	})
	return resp
}

// RawBatchDelete deletes keys.
func (e *Engine) RawBatchDelete(ctx context.Context, req *kvrpcpb.RawBatchDeleteRequest) *kvrpcpb.RawBatchDeleteResponse {
	resp := &kvrpcpb.RawBatchDeleteResponse{}
	if resp.Error = rawKeysTooLarge(req.GetForCas(), req.GetKeys()...); resp.Error != "" {
		return resp
	}
	resp.Error = e.rawWrite(req.GetContext(), req.GetCf(), func(rc *rawCtx) string {
		for _, k := range req.GetKeys() {
			rc.space.del(k)
		}
		return ""
	})
	return resp
}

// scan appends up to limit live pairs of [lo, hi) (empty hi = unbounded),
// in descending order when reverse.
func (rc *rawCtx) scan(lo, hi []byte, limit int, keyOnly, reverse bool, out []*kvrpcpb.KvPair) []*kvrpcpb.KvPair {
	if limit <= 0 {
		return out
	}
	n := 0
	emit := func(en *rawEntry) bool {
		if !rc.live(en) {
			return true
		}
		p := &kvrpcpb.KvPair{Key: en.key}
		if !keyOnly {
			p.Value = en.value
		}
		out = append(out, p)
		n++
		return n < limit
	}
	if !reverse {
		rc.space.t.AscendGreaterOrEqual(&rawEntry{key: lo}, func(en *rawEntry) bool {
			if len(hi) > 0 && bytes.Compare(en.key, hi) >= 0 {
				return false
			}
			return emit(en)
		})
		return out
	}
	down := func(en *rawEntry) bool {
		if len(hi) > 0 && bytes.Compare(en.key, hi) >= 0 {
			return true // the exclusive upper bound itself
		}
		if bytes.Compare(en.key, lo) < 0 {
			return false
		}
		return emit(en)
	}
	if len(hi) == 0 {
		rc.space.t.Descend(down)
	} else {
		rc.space.t.DescendLessOrEqual(&rawEntry{key: hi}, down)
	}
	return out
}

// RawScan scans [start_key, end_key) forward, or [end_key, start_key)
// backward when reverse; at most limit pairs.
func (e *Engine) RawScan(ctx context.Context, req *kvrpcpb.RawScanRequest) *kvrpcpb.RawScanResponse {
	resp := &kvrpcpb.RawScanResponse{}
	e.rawMu.RLock()
	defer e.rawMu.RUnlock()
	rc, msg := e.rawSetup(req.GetContext(), req.GetCf())
	if msg != "" {
		resp.Kvs = rawPairErr(msg)
		return resp
	}
	lo, hi := req.GetStartKey(), req.GetEndKey()
	if req.GetReverse() {
		lo, hi = hi, lo
	}
	resp.Kvs = rc.scan(lo, hi, int(req.GetLimit()), req.GetKeyOnly(), req.GetReverse(), nil)
	return resp
}

// RawBatchScan scans each range in order with at most each_limit pairs per
// range; an empty end_key ends at the next range's start.
func (e *Engine) RawBatchScan(ctx context.Context, req *kvrpcpb.RawBatchScanRequest) *kvrpcpb.RawBatchScanResponse {
	resp := &kvrpcpb.RawBatchScanResponse{}
	ranges := req.GetRanges()
	rev := req.GetReverse()
	for _, r := range ranges {
		if len(r.GetEndKey()) == 0 {
			continue
		}
		c := bytes.Compare(r.GetStartKey(), r.GetEndKey())
		if (!rev && c >= 0) || (rev && c <= 0) {
			resp.Kvs = rawPairErr("Invalid KeyRanges")
			return resp
		}
	}
	e.rawMu.RLock()
	defer e.rawMu.RUnlock()
	rc, msg := e.rawSetup(req.GetContext(), req.GetCf())
	if msg != "" {
		resp.Kvs = rawPairErr(msg)
		return resp
	}
	for i, r := range ranges {
		start, end := r.GetStartKey(), r.GetEndKey()
		if len(end) == 0 && i+1 < len(ranges) {
			end = ranges[i+1].GetStartKey()
		}
		lo, hi := start, end
		if rev {
			lo, hi = end, start
		}
		resp.Kvs = rc.scan(lo, hi, int(req.GetEachLimit()), req.GetKeyOnly(), rev, resp.Kvs)
	}
	return resp
}

// RawDeleteRange physically deletes every key of the cf in [start_key,
// end_key).
func (e *Engine) RawDeleteRange(ctx context.Context, req *kvrpcpb.RawDeleteRangeRequest) *kvrpcpb.RawDeleteRangeResponse {
	resp := &kvrpcpb.RawDeleteRangeResponse{}
	start, end := req.GetStartKey(), req.GetEndKey()
	if resp.Error = rawKeysTooLarge(false, start, end); resp.Error != "" {
		return resp
	}
	if len(end) > 0 && bytes.Compare(start, end) >= 0 {
		resp.Error = "invalid delete range command: start_key must be less than end_key"
		return resp
	}
	resp.Error = e.rawWrite(req.GetContext(), req.GetCf(), func(rc *rawCtx) string {
		var hit []*rawEntry
		rc.space.t.AscendGreaterOrEqual(&rawEntry{key: start}, func(en *rawEntry) bool {
			if len(end) > 0 && bytes.Compare(en.key, end) >= 0 {
				return false
			}
			hit = append(hit, en)
			return true
		})
		for _, en := range hit {
			rc.space.del(en.key)
		}
		return ""
	})
	return resp
}

// RawGetKeyTTL returns the remaining TTL of key in seconds (0 = no TTL).
func (e *Engine) RawGetKeyTTL(ctx context.Context, req *kvrpcpb.RawGetKeyTTLRequest) *kvrpcpb.RawGetKeyTTLResponse {
	resp := &kvrpcpb.RawGetKeyTTLResponse{}
	resp.Error = e.rawRead(req.GetContext(), req.GetCf(), func(rc *rawCtx) string {
		if !rc.ttlOn {
			return "get ttl on non-ttl store"
		}
		en, ok := rc.get(req.GetKey())
		switch {
		case !ok:
			resp.NotFound = true
		case en.expire != 0:
			resp.Ttl = en.expire - rc.nowS
		}
		return ""
	})
	return resp
}

// RawCompareAndSwap atomically replaces (or deletes) key when its current
// value equals the expected one; it always returns the value it saw.
func (e *Engine) RawCompareAndSwap(ctx context.Context, req *kvrpcpb.RawCASRequest) *kvrpcpb.RawCASResponse {
	resp := &kvrpcpb.RawCASResponse{}
	e.rawMu.Lock()
	defer e.rawMu.Unlock()
	rc, msg := e.rawSetup(req.GetContext(), req.GetCf())
	if msg != "" {
		resp.Error = msg
		return resp
	}
	exp, msg := rc.expireAt(req.GetTtl())
	if msg != "" && !req.GetDelete() {
		resp.Error = msg
		return resp
	}
	en, ok := rc.get(req.GetKey())
	var equal bool
	if req.GetPreviousNotExist() {
		equal = !ok
	} else {
		equal = ok && bytes.Equal(en.value, req.GetPreviousValue())
	}
	if ok {
		resp.PreviousValue = bytes.Clone(en.value)
	} else {
		resp.PreviousNotExist = true
	}
	if !equal {
		return resp
	}
	resp.Succeed = true
	if req.GetDelete() {
		if ok {
			rc.space.del(req.GetKey())
		}
		return resp
	}
	rc.space.put(req.GetKey(), req.GetValue(), exp)
	return resp
}

// RawChecksum xors crc64-ECMA(key ‖ value) over every live pair of the
// ranges, as TiKV's raw checksum does.
func (e *Engine) RawChecksum(ctx context.Context, req *kvrpcpb.RawChecksumRequest) *kvrpcpb.RawChecksumResponse {
	resp := &kvrpcpb.RawChecksumResponse{}
	if req.GetAlgorithm() != kvrpcpb.ChecksumAlgorithm_Crc64_Xor {
		resp.Error = fmt.Sprintf("unknown checksum algorithm %s", req.GetAlgorithm())
		return resp
	}
	e.rawMu.RLock()
	defer e.rawMu.RUnlock()
	rc, msg := e.rawSetup(req.GetContext(), "")
	if msg != "" {
		resp.Error = msg
		return resp
	}
	var buf []byte
	for _, r := range req.GetRanges() {
		start, end := r.GetStartKey(), r.GetEndKey()
		rc.space.t.AscendGreaterOrEqual(&rawEntry{key: start}, func(en *rawEntry) bool {
			if len(end) > 0 && bytes.Compare(en.key, end) >= 0 {
				return false
			}
			if !rc.live(en) {
				return true
			}
			buf = append(append(buf[:0], en.key...), en.value...)
			resp.Checksum ^= crc64.Checksum(buf, e.crc)
			resp.TotalKvs++
			resp.TotalBytes += uint64(len(en.key) + len(en.value))
			return true
		})
	}
	return resp
}

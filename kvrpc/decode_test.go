package kvrpc

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/pingcap/kvproto/pkg/coprocessor"
	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/protobuf/encoding/protowire"
)

// fastCommands are the commands with a hand-written batch response decoder.
var fastCommands = []command{
	rawGetSpec, rawBatchGetSpec, rawPutSpec, rawBatchPutSpec,
	rawDeleteSpec, rawBatchDeleteSpec, rawScanSpec,
	getSpec, batchGetSpec, scanSpec,
	prewriteSpec, commitSpec, pessimisticLockSpec,
}

// generatedDecode is the reference: the gogo decoder plus the oneof unwrap.
func generatedDecode(cmd command, raw []byte) (Message, error) {
	r := &tikvpb.BatchCommandsResponse_Response{}
	if err := r.Unmarshal(raw); err != nil {
		return nil, err
	}
	m, ok := cmd.fromBatch(r)
	if !ok {
		return nil, ErrUnexpectedResponse
	}
	return m, nil
}

// checkSameDecode fails t unless the fast path and the generated decoder
// agree on raw: both fail, or both succeed with deeply equal messages.
func checkSameDecode(t *testing.T, cmd command, raw []byte) {
	t.Helper()
	want, wantErr := generatedDecode(cmd, raw)
	got, gotErr := cmd.decodeBatch(raw)
	if (wantErr != nil) != (gotErr != nil) {
		t.Fatalf("%s on %x: generated err %v, fast err %v", cmd.cmdType(), raw, wantErr, gotErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s on %x:\nfast      %#v\ngenerated %#v", cmd.cmdType(), raw, got, want)
	}
}

func marshalResponse(t testing.TB, r *tikvpb.BatchCommandsResponse_Response) []byte {
	t.Helper()
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleResponses are well-formed responses covering every field the fast
// decoders read, including empty-but-present values and errors.
func sampleResponses() map[string]*tikvpb.BatchCommandsResponse_Response {
	regionErr := &errorpb.Error{Message: "not leader", NotLeader: &errorpb.NotLeader{RegionId: 7}}
	pairs := []*kvrpcpb.KvPair{
		{Key: []byte("a"), Value: []byte("1")},
		{Key: []byte("b"), Value: []byte{}},
		{Key: []byte("c"), Value: bytes.Repeat([]byte("v"), 300), CommitTs: 1 << 40},
		{Key: []byte("d"), Error: &kvrpcpb.KeyError{Abort: "boom"}},
	}
	locked := &kvrpcpb.KeyError{Locked: &kvrpcpb.LockInfo{PrimaryLock: []byte("p"), LockVersion: 5, Key: []byte("k"), LockTtl: 3000}}
	details := &kvrpcpb.ExecDetailsV2{TimeDetail: &kvrpcpb.TimeDetail{ProcessWallTimeMs: 2}}
	type R = tikvpb.BatchCommandsResponse_Response
	return map[string]*R{
		"get value":      {Cmd: &tikvpb.BatchCommandsResponse_Response_RawGet{RawGet: &kvrpcpb.RawGetResponse{Value: []byte("v")}}},
		"get empty":      {Cmd: &tikvpb.BatchCommandsResponse_Response_RawGet{RawGet: &kvrpcpb.RawGetResponse{Value: []byte{}}}},
		"get not found":  {Cmd: &tikvpb.BatchCommandsResponse_Response_RawGet{RawGet: &kvrpcpb.RawGetResponse{NotFound: true}}},
		"get errors":     {Cmd: &tikvpb.BatchCommandsResponse_Response_RawGet{RawGet: &kvrpcpb.RawGetResponse{RegionError: regionErr, Error: "e"}}},
		"get nothing":    {Cmd: &tikvpb.BatchCommandsResponse_Response_RawGet{RawGet: &kvrpcpb.RawGetResponse{}}},
		"batch get":      {Cmd: &tikvpb.BatchCommandsResponse_Response_RawBatchGet{RawBatchGet: &kvrpcpb.RawBatchGetResponse{Pairs: pairs}}},
		"batch get none": {Cmd: &tikvpb.BatchCommandsResponse_Response_RawBatchGet{RawBatchGet: &kvrpcpb.RawBatchGetResponse{}}},
		"batch get region error": {Cmd: &tikvpb.BatchCommandsResponse_Response_RawBatchGet{
			RawBatchGet: &kvrpcpb.RawBatchGetResponse{RegionError: regionErr}}},
		"scan":         {Cmd: &tikvpb.BatchCommandsResponse_Response_RawScan{RawScan: &kvrpcpb.RawScanResponse{Kvs: pairs}}},
		"put":          {Cmd: &tikvpb.BatchCommandsResponse_Response_RawPut{RawPut: &kvrpcpb.RawPutResponse{}}},
		"put error":    {Cmd: &tikvpb.BatchCommandsResponse_Response_RawPut{RawPut: &kvrpcpb.RawPutResponse{Error: "full", RegionError: regionErr}}},
		"batch put":    {Cmd: &tikvpb.BatchCommandsResponse_Response_RawBatchPut{RawBatchPut: &kvrpcpb.RawBatchPutResponse{Error: "x"}}},
		"delete":       {Cmd: &tikvpb.BatchCommandsResponse_Response_RawDelete{RawDelete: &kvrpcpb.RawDeleteResponse{RegionError: regionErr}}},
		"batch delete": {Cmd: &tikvpb.BatchCommandsResponse_Response_RawBatchDelete{RawBatchDelete: &kvrpcpb.RawBatchDeleteResponse{Error: "y"}}},
		"other arm":    {Cmd: &tikvpb.BatchCommandsResponse_Response_Coprocessor{Coprocessor: &coprocessor.Response{Data: []byte("z")}}},
		"kv get":       {Cmd: &tikvpb.BatchCommandsResponse_Response_Get{Get: &kvrpcpb.GetResponse{Value: []byte("z"), CommitTs: 9}}},
		"kv get empty": {Cmd: &tikvpb.BatchCommandsResponse_Response_Get{Get: &kvrpcpb.GetResponse{Value: []byte{}}}},
		"kv get not found": {Cmd: &tikvpb.BatchCommandsResponse_Response_Get{Get: &kvrpcpb.GetResponse{NotFound: true,
			ExecDetailsV2: details}}},
		"kv get locked": {Cmd: &tikvpb.BatchCommandsResponse_Response_Get{Get: &kvrpcpb.GetResponse{Error: locked}}},
		"kv get region error": {Cmd: &tikvpb.BatchCommandsResponse_Response_Get{Get: &kvrpcpb.GetResponse{
			RegionError: regionErr}}},
		"kv batch get": {Cmd: &tikvpb.BatchCommandsResponse_Response_BatchGet{BatchGet: &kvrpcpb.BatchGetResponse{
			Pairs: pairs, ExecDetailsV2: details}}},
		"kv batch get locked": {Cmd: &tikvpb.BatchCommandsResponse_Response_BatchGet{BatchGet: &kvrpcpb.BatchGetResponse{
			Error: locked}}},
		"kv batch get region error": {Cmd: &tikvpb.BatchCommandsResponse_Response_BatchGet{BatchGet: &kvrpcpb.BatchGetResponse{
			RegionError: regionErr}}},
		"kv scan":        {Cmd: &tikvpb.BatchCommandsResponse_Response_Scan{Scan: &kvrpcpb.ScanResponse{Pairs: pairs}}},
		"kv scan locked": {Cmd: &tikvpb.BatchCommandsResponse_Response_Scan{Scan: &kvrpcpb.ScanResponse{Error: locked}}},
		"no arm":         {},
		"prewrite":       {Cmd: &tikvpb.BatchCommandsResponse_Response_Prewrite{Prewrite: &kvrpcpb.PrewriteResponse{}}},
		"prewrite async": {Cmd: &tikvpb.BatchCommandsResponse_Response_Prewrite{Prewrite: &kvrpcpb.PrewriteResponse{
			MinCommitTs: 1 << 41, ExecDetailsV2: details}}},
		"prewrite 1pc": {Cmd: &tikvpb.BatchCommandsResponse_Response_Prewrite{Prewrite: &kvrpcpb.PrewriteResponse{OnePcCommitTs: 77}}},
		"prewrite locked": {Cmd: &tikvpb.BatchCommandsResponse_Response_Prewrite{Prewrite: &kvrpcpb.PrewriteResponse{
			Errors: []*kvrpcpb.KeyError{locked, {Abort: "x"}}}}},
		"prewrite region error": {Cmd: &tikvpb.BatchCommandsResponse_Response_Prewrite{Prewrite: &kvrpcpb.PrewriteResponse{
			RegionError: regionErr}}},
		"commit": {Cmd: &tikvpb.BatchCommandsResponse_Response_Commit{Commit: &kvrpcpb.CommitResponse{CommitVersion: 12}}},
		"commit error": {Cmd: &tikvpb.BatchCommandsResponse_Response_Commit{Commit: &kvrpcpb.CommitResponse{
			Error: &kvrpcpb.KeyError{TxnNotFound: &kvrpcpb.TxnNotFound{StartTs: 3}}, ExecDetailsV2: details}}},
		"commit region error": {Cmd: &tikvpb.BatchCommandsResponse_Response_Commit{Commit: &kvrpcpb.CommitResponse{RegionError: regionErr}}},
		"pessimistic lock": {Cmd: &tikvpb.BatchCommandsResponse_Response_PessimisticLock{
			PessimisticLock: &kvrpcpb.PessimisticLockResponse{}}},
		"pessimistic lock locked": {Cmd: &tikvpb.BatchCommandsResponse_Response_PessimisticLock{
			PessimisticLock: &kvrpcpb.PessimisticLockResponse{Errors: []*kvrpcpb.KeyError{locked}, ExecDetailsV2: details}}},
		"pessimistic lock region error": {Cmd: &tikvpb.BatchCommandsResponse_Response_PessimisticLock{
			PessimisticLock: &kvrpcpb.PessimisticLockResponse{RegionError: regionErr}}},
		"pessimistic lock values": {Cmd: &tikvpb.BatchCommandsResponse_Response_PessimisticLock{
			PessimisticLock: &kvrpcpb.PessimisticLockResponse{Values: [][]byte{[]byte("v"), nil}, NotFounds: []bool{false, true}}}},
		"pessimistic lock results": {Cmd: &tikvpb.BatchCommandsResponse_Response_PessimisticLock{
			PessimisticLock: &kvrpcpb.PessimisticLockResponse{Results: []*kvrpcpb.PessimisticLockKeyResult{{Value: []byte("v"), Existence: true}}}}},
	}
}

func TestDecodeBatchMatchesGenerated(t *testing.T) {
	t.Parallel()
	for name, r := range sampleResponses() {
		raw := marshalResponse(t, r)
		for _, cmd := range fastCommands {
			t.Run(fmt.Sprintf("%s/%s", name, cmd.cmdType()), func(t *testing.T) {
				checkSameDecode(t, cmd, raw)
			})
		}
	}
}

// TestDecodeBatchWireVariants covers encodings a proto encoder may produce
// but gogo's marshaller does not: repeated scalar fields (last wins),
// repeated message fields (merged), unknown fields, and wire-type mismatches.
func TestDecodeBatchWireVariants(t *testing.T) {
	t.Parallel()
	arm := func(num protowire.Number, body []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), body)
	}
	bytesField := func(b []byte, num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
	}
	varintField := func(b []byte, num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
	}
	regionErr := func(msg string) []byte {
		b, _ := (&errorpb.Error{Message: msg}).Marshal()
		return b
	}
	pair := func(k, v string) []byte { return bytesField(bytesField(nil, 2, []byte(k)), 3, []byte(v)) }

	cases := map[string]struct {
		cmd command
		raw []byte
	}{
		"value twice": {rawGetSpec, arm(13, bytesField(bytesField(nil, 3, []byte("old")), 3, []byte("new")))},
		"region error merged": {rawGetSpec, arm(13,
			bytesField(bytesField(nil, 1, regionErr("a")), 1, []byte{0x1a, 0x02, 0x08, 0x05}))},
		"unknown varint field":   {rawGetSpec, arm(13, varintField(bytesField(nil, 3, []byte("v")), 99, 7))},
		"unknown bytes field":    {rawScanSpec, arm(19, bytesField(bytesField(nil, 2, pair("k", "v")), 50, []byte("junk")))},
		"unknown fixed64 field":  {rawGetSpec, arm(13, protowire.AppendFixed64(protowire.AppendTag(nil, 9, protowire.Fixed64Type), 1))},
		"value as varint":        {rawGetSpec, arm(13, varintField(nil, 3, 1))},
		"not found as bytes":     {rawGetSpec, arm(13, bytesField(nil, 4, []byte{1}))},
		"pairs as varint":        {rawBatchGetSpec, arm(14, varintField(nil, 2, 1))},
		"pair key as varint":     {rawBatchGetSpec, arm(14, bytesField(nil, 2, varintField(nil, 2, 1)))},
		"truncated pair":         {rawScanSpec, arm(19, bytesField(nil, 2, pair("k", "v")[:3]))},
		"bad region error":       {rawPutSpec, arm(15, bytesField(nil, 1, []byte{0xff}))},
		"two arms":               {rawGetSpec, append(arm(1, []byte{0xff}), arm(13, bytesField(nil, 3, []byte("v")))...)},
		"same arm twice":         {rawGetSpec, append(arm(13, bytesField(nil, 3, []byte("a"))), arm(13, nil)...)},
		"truncated arm":          {rawGetSpec, arm(13, bytesField(nil, 3, []byte("value")))[:5]},
		"pair error and ts":      {rawScanSpec, arm(19, bytesField(nil, 2, varintField(bytesField(pair("k", "v"), 1, []byte{0x12, 0x01, 'x'}), 4, 9)))},
		"pair value as varint":   {rawScanSpec, arm(19, bytesField(nil, 2, varintField(nil, 3, 1)))},
		"pair ts as bytes":       {rawScanSpec, arm(19, bytesField(nil, 2, bytesField(nil, 4, []byte{1})))},
		"error string as varint": {rawDeleteSpec, arm(17, varintField(nil, 2, 1))},
		"kv get key error merged": {getSpec, arm(1, bytesField(bytesField(nil, 2, []byte{0x1a, 0x01, 'a'}), 2,
			[]byte{0x22, 0x01, 'b'}))},
		"kv get details twice":         {getSpec, arm(1, bytesField(bytesField(nil, 6, []byte{}), 6, []byte{}))},
		"kv get ts as bytes":           {getSpec, arm(1, bytesField(nil, 7, []byte{1}))},
		"kv get error as varint":       {getSpec, arm(1, varintField(nil, 2, 1))},
		"kv get bad key error":         {getSpec, arm(1, bytesField(nil, 2, []byte{0xff}))},
		"kv get reserved field":        {getSpec, arm(1, varintField(bytesField(nil, 3, []byte("v")), 5, 1))},
		"kv batch get error as varint": {batchGetSpec, arm(7, varintField(nil, 5, 1))},
		"kv batch get details bad":     {batchGetSpec, arm(7, bytesField(nil, 4, []byte{0xff}))},
		"kv batch get reserved field":  {batchGetSpec, arm(7, bytesField(bytesField(nil, 2, pair("k", "v")), 3, []byte("x")))},
		"kv scan error and pairs": {scanSpec, arm(2, bytesField(bytesField(nil, 2, pair("k", "v")), 3,
			[]byte{0x1a, 0x01, 'a'}))},
		"kv scan details field is unknown": {scanSpec, arm(2, bytesField(nil, 4, []byte{0xff}))},
		"prewrite min commit ts twice":     {prewriteSpec, arm(3, varintField(varintField(nil, 3, 5), 3, 6))},
		"prewrite ts as bytes":             {prewriteSpec, arm(3, bytesField(nil, 4, []byte{1}))},
		"prewrite errors as varint":        {prewriteSpec, arm(3, varintField(nil, 2, 1))},
		"prewrite bad key error":           {prewriteSpec, arm(3, bytesField(nil, 2, []byte{0xff}))},
		"prewrite two key errors": {prewriteSpec, arm(3, bytesField(bytesField(nil, 2, []byte{0x1a, 0x01, 'a'}), 2,
			[]byte{0x22, 0x01, 'b'}))},
		"prewrite unknown field":    {prewriteSpec, arm(3, varintField(nil, 40, 1))},
		"commit key error merged":   {commitSpec, arm(4, bytesField(bytesField(nil, 2, []byte{0x1a, 0x01, 'a'}), 2, []byte{0x22, 0x01, 'b'}))},
		"commit version as bytes":   {commitSpec, arm(4, bytesField(nil, 3, []byte{1}))},
		"commit details bad":        {commitSpec, arm(4, bytesField(nil, 4, []byte{0xff}))},
		"lock errors as varint":     {pessimisticLockSpec, arm(23, varintField(nil, 2, 1))},
		"lock not founds unpacked":  {pessimisticLockSpec, arm(23, varintField(varintField(nil, 6, 1), 6, 0))},
		"lock deprecated commit ts": {pessimisticLockSpec, arm(23, varintField(nil, 3, 9))},
		"lock details then errors":  {pessimisticLockSpec, arm(23, bytesField(bytesField(nil, 7, []byte{}), 2, []byte{0x1a, 0x01, 'a'}))},
		"lock details as varint":    {pessimisticLockSpec, arm(23, varintField(nil, 7, 1))},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkSameDecode(t, c.cmd, c.raw)
		})
	}
}

// TestDecodeBatchAliasesAreCapped checks that keys and values decoded from
// a shared buffer cannot be grown over their neighbours.
func TestDecodeBatchAliasesAreCapped(t *testing.T) {
	t.Parallel()
	raw := marshalResponse(t, &tikvpb.BatchCommandsResponse_Response{Cmd: &tikvpb.BatchCommandsResponse_Response_RawScan{
		RawScan: &kvrpcpb.RawScanResponse{Kvs: []*kvrpcpb.KvPair{
			{Key: []byte("k1"), Value: []byte("v1")}, {Key: []byte("k2"), Value: []byte("v2")},
		}},
	}})
	m, err := rawScanSpec.decodeBatch(raw)
	if err != nil {
		t.Fatal(err)
	}
	kvs := m.(*kvrpcpb.RawScanResponse).Kvs
	for _, p := range kvs {
		if cap(p.Key) != len(p.Key) || cap(p.Value) != len(p.Value) {
			t.Fatalf("pair %q: key cap %d len %d, value cap %d len %d", p.Key, cap(p.Key), len(p.Key), cap(p.Value), len(p.Value))
		}
	}
	_ = append(kvs[0].Value, "XXXXXXXX"...)
	if string(kvs[1].Key) != "k2" || string(kvs[1].Value) != "v2" {
		t.Fatalf("appending to a value changed its neighbour: %q=%q", kvs[1].Key, kvs[1].Value)
	}
}

func TestParseBatchFrameMatchesGenerated(t *testing.T) {
	t.Parallel()
	full := &tikvpb.BatchCommandsResponse{
		RequestIds:         []uint64{1, 300, 1 << 62},
		TransportLayerLoad: 280,
		HealthFeedback:     &kvrpcpb.HealthFeedback{StoreId: 3, SlowScore: 42},
		TikvSendTimeNs:     99,
	}
	for _, r := range sampleResponses() {
		full.Responses = append(full.Responses, r)
		if len(full.Responses) == 3 {
			break
		}
	}
	raw, err := full.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	unpacked := protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 77)
	cases := map[string][]byte{
		"full":            raw,
		"empty":           nil,
		"unpacked id":     unpacked,
		"mixed ids":       append(append([]byte{}, raw...), unpacked...),
		"feedback merged": append(append([]byte{}, raw...), 0x22, 0x02, 0x10, 0x07),
		"truncated":       raw[:len(raw)-1],
		"load as bytes":   {0x1a, 0x00},
		"unknown field":   append(append([]byte{}, raw...), 0x50, 0x01),
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkSameFrame(t, raw)
		})
	}
}

// checkSameFrame fails t unless parseBatchFrame and the generated decoder
// agree on raw.
func checkSameFrame(t *testing.T, raw []byte) {
	t.Helper()
	var want tikvpb.BatchCommandsResponse
	wantErr := want.Unmarshal(raw)
	var f batchFrame
	gotErr := parseBatchFrame(raw, &f)
	if wantErr != nil && gotErr == nil {
		// The frame splitter does not look inside responses: a malformed
		// one fails only the request it answers, when its caller decodes it.
		for _, r := range f.responses {
			var one tikvpb.BatchCommandsResponse_Response
			if one.Unmarshal(r) != nil {
				return
			}
		}
	}
	if (wantErr != nil) != (gotErr != nil) {
		t.Fatalf("on %x: generated err %v, parse err %v", raw, wantErr, gotErr)
	}
	if wantErr != nil {
		if !errors.Is(gotErr, errMalformedBatch) {
			t.Fatalf("parse err %v is not errMalformedBatch", gotErr)
		}
		return
	}
	if f.load != want.TransportLayerLoad || !reflect.DeepEqual(f.feedback, want.HealthFeedback) ||
		len(f.ids) != len(want.RequestIds) || len(f.responses) != len(want.Responses) {
		t.Fatalf("on %x: parsed ids %v load %d feedback %v, %d responses; generated %v", raw, f.ids, f.load, f.feedback, len(f.responses), &want)
	}
	for i := range f.ids {
		if f.ids[i] != want.RequestIds[i] {
			t.Fatalf("id %d: %d, want %d", i, f.ids[i], want.RequestIds[i])
		}
	}
	for i, r := range f.responses {
		var got tikvpb.BatchCommandsResponse_Response
		if err := got.Unmarshal(r); err != nil || !reflect.DeepEqual(&got, want.Responses[i]) {
			t.Fatalf("response %d: %v (err %v), want %v", i, &got, err, want.Responses[i])
		}
	}
}

// FuzzDecodeBatchResponse checks the fast decoders against the generated
// one on arbitrary bytes, seeded with well-formed responses.
func FuzzDecodeBatchResponse(f *testing.F) {
	for _, r := range sampleResponses() {
		f.Add(marshalResponse(f, r))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, cmd := range fastCommands {
			checkSameDecode(t, cmd, raw)
		}
	})
}

// FuzzParseBatchFrame checks the frame splitter against the generated
// decoder on arbitrary bytes.
func FuzzParseBatchFrame(f *testing.F) {
	full := &tikvpb.BatchCommandsResponse{RequestIds: []uint64{1, 2}, TransportLayerLoad: 3}
	for _, r := range sampleResponses() {
		full.Responses = append(full.Responses, r)
	}
	raw, err := full.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Fuzz(func(t *testing.T, raw []byte) { checkSameFrame(t, raw) })
}

// BenchmarkDecodeBatchResponse compares the fast decoders with the
// generated one on typical raw responses.
func BenchmarkDecodeBatchResponse(b *testing.B) {
	pairs := make([]*kvrpcpb.KvPair, 100)
	for i := range pairs {
		pairs[i] = &kvrpcpb.KvPair{Key: fmt.Appendf(nil, "bench-raw-%03d", i), Value: make([]byte, 64)}
	}
	cases := []struct {
		name string
		cmd  command
		resp *tikvpb.BatchCommandsResponse_Response
	}{
		{"RawGet", rawGetSpec, &tikvpb.BatchCommandsResponse_Response{Cmd: &tikvpb.BatchCommandsResponse_Response_RawGet{
			RawGet: &kvrpcpb.RawGetResponse{Value: make([]byte, 64)}}}},
		{"RawScan100", rawScanSpec, &tikvpb.BatchCommandsResponse_Response{Cmd: &tikvpb.BatchCommandsResponse_Response_RawScan{
			RawScan: &kvrpcpb.RawScanResponse{Kvs: pairs}}}},
	}
	for _, c := range cases {
		raw := marshalResponse(b, c.resp)
		b.Run(c.name+"/decoder=fast", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.cmd.decodeBatch(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/decoder=generated", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := generatedDecode(c.cmd, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTxnReadDecodersTakeFastPath checks that well-formed transactional
// read and write responses are decoded by hand, not handed to the generated decoder.
func TestTxnReadDecodersTakeFastPath(t *testing.T) {
	t.Parallel()
	samples := sampleResponses()
	for name, dec := range map[string]func([]byte) bool{
		"kv get":                  func(b []byte) bool { _, ok := decodeKvGet(b); return ok },
		"kv get not found":        func(b []byte) bool { _, ok := decodeKvGet(b); return ok },
		"kv get locked":           func(b []byte) bool { _, ok := decodeKvGet(b); return ok },
		"kv batch get":            func(b []byte) bool { _, ok := decodeKvBatchGet(b); return ok },
		"kv batch get locked":     func(b []byte) bool { _, ok := decodeKvBatchGet(b); return ok },
		"kv scan":                 func(b []byte) bool { _, ok := decodeKvScan(b); return ok },
		"kv scan locked":          func(b []byte) bool { _, ok := decodeKvScan(b); return ok },
		"prewrite":                func(b []byte) bool { _, ok := decodeKvPrewrite(b); return ok },
		"prewrite async":          func(b []byte) bool { _, ok := decodeKvPrewrite(b); return ok },
		"prewrite 1pc":            func(b []byte) bool { _, ok := decodeKvPrewrite(b); return ok },
		"prewrite locked":         func(b []byte) bool { _, ok := decodeKvPrewrite(b); return ok },
		"commit":                  func(b []byte) bool { _, ok := decodeKvCommit(b); return ok },
		"commit error":            func(b []byte) bool { _, ok := decodeKvCommit(b); return ok },
		"pessimistic lock":        func(b []byte) bool { _, ok := decodeKvPessimisticLock(b); return ok },
		"pessimistic lock locked": func(b []byte) bool { _, ok := decodeKvPessimisticLock(b); return ok },
	} {
		_, body, ok := responseArm(marshalResponse(t, samples[name]))
		if !ok || !dec(body) {
			t.Errorf("%s: not decoded by the fast path", name)
		}
	}
}

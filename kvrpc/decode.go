package kvrpc

// This file decodes BatchCommands responses by hand on the hot paths: the
// raw commands and the transactional reads (KvGet, KvBatchGet, KvScan).
//
// The generated (gogo) decoder allocates a struct, a key and a value for
// every KvPair, and the default gRPC codec first copies the whole message.
// Here the receive loop copies each message into one buffer it reuses, splits
// it into per-request responses, and gives each caller one private copy of
// its own response. The caller then decodes the raw commands into slabs: one
// []KvPair backing array, with keys and values sub-sliced (capacity capped)
// from that private copy, so a value kept by the caller pins only the bytes
// of its own response. Anything the fast decoders do not expect (another
// oneof arm, an unexpected wire type, a malformed field) falls back to the
// generated decoder, which then decides what the message means.

import (
	"errors"
	"fmt"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"google.golang.org/protobuf/encoding/protowire"
)

// errMalformedBatch reports a BatchCommandsResponse that is not valid
// protobuf; the stream carrying it is failed.
var errMalformedBatch = errors.New("kvrpc: malformed BatchCommandsResponse")

// Field numbers of tikvpb.BatchCommandsResponse.
const (
	respFieldResponses      protowire.Number = 1
	respFieldRequestIDs     protowire.Number = 2
	respFieldTransportLoad  protowire.Number = 3
	respFieldHealthFeedback protowire.Number = 4
	respFieldTiKVSendTime   protowire.Number = 5
)

// recvBuffer is what the receive loop asks the codec to fill: the raw bytes
// of one BatchCommandsResponse, copied into a buffer reused across messages.
// Only the stream's receive goroutine touches it.
type recvBuffer struct{ buf []byte }

// batchFrame is one BatchCommandsResponse split into its parts. responses
// alias the receive buffer, so they are valid only until the next Recv.
type batchFrame struct {
	responses [][]byte
	ids       []uint64
	load      uint64
	feedback  *kvrpcpb.HealthFeedback
}

// reset empties f, keeping its slices' capacity.
func (f *batchFrame) reset() {
	clear(f.responses)
	f.responses = f.responses[:0]
	f.ids = f.ids[:0]
	f.load = 0
	f.feedback = nil
}

// parseBatchFrame splits b (an encoded BatchCommandsResponse) into f, with
// the same meaning the generated decoder gives it: request ids may be packed
// or not, a repeated health_feedback merges, unknown fields are skipped.
// Unlike the generated decoder it does not look inside the responses, so a
// malformed response fails only the request it answers (when its caller
// decodes it), not the whole stream.
func parseBatchFrame(b []byte, f *batchFrame) error {
	f.reset()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformedBatch
		}
		b = b[n:]
		switch {
		case num == respFieldResponses && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errMalformedBatch
			}
			f.responses = append(f.responses, v)
			b = b[n:]
		case num == respFieldRequestIDs && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errMalformedBatch
			}
			for len(v) > 0 {
				id, m := protowire.ConsumeVarint(v)
				if m < 0 {
					return errMalformedBatch
				}
				f.ids = append(f.ids, id)
				v = v[m:]
			}
			b = b[n:]
		case num == respFieldRequestIDs && typ == protowire.VarintType:
			id, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errMalformedBatch
			}
			f.ids = append(f.ids, id)
			b = b[n:]
		case num == respFieldTransportLoad && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errMalformedBatch
			}
			f.load = v
			b = b[n:]
		case num == respFieldHealthFeedback && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errMalformedBatch
			}
			if f.feedback == nil {
				f.feedback = &kvrpcpb.HealthFeedback{}
			}
			if err := f.feedback.Unmarshal(v); err != nil {
				return fmt.Errorf("%w: %w", errMalformedBatch, err)
			}
			b = b[n:]
		case num == respFieldTiKVSendTime && typ == protowire.VarintType:
			_, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errMalformedBatch
			}
			b = b[n:]
		case num <= respFieldTiKVSendTime:
			// A known field with the wrong wire type: the generated decoder
			// rejects it too.
			return errMalformedBatch
		default:
			n := skipUnknown(typ, b)
			if n < 0 {
				return errMalformedBatch
			}
			b = b[n:]
		}
	}
	return nil
}

// skipUnknown returns the length of the value of an unknown field of wire
// type typ at the head of b, or -1. Groups are skipped the lenient way the
// generated decoder does it: by nesting depth, without matching the field
// numbers of their start and end tags.
func skipUnknown(typ protowire.Type, b []byte) int {
	depth, off := 0, 0
	for {
		switch typ {
		case protowire.VarintType:
			_, n := protowire.ConsumeVarint(b[off:])
			if n < 0 {
				return -1
			}
			off += n
		case protowire.Fixed64Type, protowire.Fixed32Type, protowire.BytesType:
			n := protowire.ConsumeFieldValue(1, typ, b[off:])
			if n < 0 {
				return -1
			}
			off += n
		case protowire.StartGroupType:
			depth++
		case protowire.EndGroupType:
			depth--
		default:
			return -1
		}
		if depth < 0 {
			return -1
		}
		if depth == 0 {
			return off
		}
		_, t, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return -1
		}
		off += n
		typ = t
	}
}

// responseArm returns the field number and body of the oneof arm a
// BatchCommandsResponse.Response carries. TiKV sends exactly one field, the
// arm; ok is false for anything else (no field or several, a non-message
// field, malformed bytes), and the caller then uses the generated decoder,
// which knows which of several fields are arms and which one wins.
func responseArm(b []byte) (num protowire.Number, body []byte, ok bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || typ != protowire.BytesType {
		return 0, nil, false
	}
	body, m := protowire.ConsumeBytes(b[n:])
	if m < 0 || n+m != len(b) {
		return 0, nil, false
	}
	return num, body, true
}

// field is one decoded field of a flat message: its number and either its
// bytes (length-delimited) or its varint.
type field struct {
	num   protowire.Number
	wire  protowire.Type
	bytes []byte
	u     uint64
}

// nextField decodes the field at the head of b. Only varint and
// length-delimited fields are accepted (the messages decoded here have no
// other kinds); ok is false on anything else.
func nextField(b []byte) (f field, rest []byte, ok bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return field{}, nil, false
	}
	b = b[n:]
	switch typ {
	case protowire.VarintType:
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return field{}, nil, false
		}
		return field{num: num, wire: typ, u: v}, b[n:], true
	case protowire.BytesType:
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return field{}, nil, false
		}
		// Cap the capacity so that a caller appending to a key or value
		// never writes over the bytes that follow it.
		return field{num: num, wire: typ, bytes: v[:len(v):len(v)]}, b[n:], true
	default:
		// Fixed-width or group fields only appear as unknown fields; let
		// the generated decoder handle (skip or reject) them.
		return field{}, nil, false
	}
}

// isBytes reports whether f was length-delimited.
func (f field) isBytes() bool { return f.wire == protowire.BytesType }

// mergeRegionError decodes a region_error field into *dst, merging into an
// existing value as the generated decoder does for a repeated message field.
func mergeRegionError(dst **errorpb.Error, b []byte) bool {
	if *dst == nil {
		*dst = &errorpb.Error{}
	}
	return (*dst).Unmarshal(b) == nil
}

// Field numbers shared by the raw responses decoded here.
const (
	fieldRegionError protowire.Number = 1
	fieldError       protowire.Number = 2 // string error (RawGet, RawPut, ...)
	fieldPairs       protowire.Number = 2 // repeated KvPair (RawBatchGet, RawScan)
	fieldGetValue    protowire.Number = 3
	fieldGetNotFound protowire.Number = 4

	fieldPairError    protowire.Number = 1
	fieldPairKey      protowire.Number = 2
	fieldPairValue    protowire.Number = 3
	fieldPairCommitTS protowire.Number = 4
)

// decodeRawGet decodes a RawGetResponse; Value aliases b.
func decodeRawGet(b []byte) (*kvrpcpb.RawGetResponse, bool) {
	m := &kvrpcpb.RawGetResponse{}
	for len(b) > 0 {
		f, rest, ok := nextField(b)
		if !ok {
			return nil, false
		}
		b = rest
		switch f.num {
		case fieldRegionError:
			if !f.isBytes() || !mergeRegionError(&m.RegionError, f.bytes) {
				return nil, false
			}
		case fieldError:
			if !f.isBytes() {
				return nil, false
			}
			m.Error = string(f.bytes)
		case fieldGetValue:
			if !f.isBytes() {
				return nil, false
			}
			m.Value = f.bytes
		case fieldGetNotFound:
			if f.isBytes() {
				return nil, false
			}
			m.NotFound = f.u != 0
		}
	}
	return m, true
}

// decodeErrorOnly decodes the responses made of a region error and a string
// error (RawPut, RawBatchPut, RawDelete, RawBatchDelete) into the fields
// given.
func decodeErrorOnly(b []byte, regionErr **errorpb.Error, msg *string) bool {
	for len(b) > 0 {
		f, rest, ok := nextField(b)
		if !ok {
			return false
		}
		b = rest
		switch f.num {
		case fieldRegionError:
			if !f.isBytes() || !mergeRegionError(regionErr, f.bytes) {
				return false
			}
		case fieldError:
			if !f.isBytes() {
				return false
			}
			*msg = string(f.bytes)
		}
	}
	return true
}

func decodeRawPut(b []byte) (*kvrpcpb.RawPutResponse, bool) {
	m := &kvrpcpb.RawPutResponse{}
	return m, decodeErrorOnly(b, &m.RegionError, &m.Error)
}

func decodeRawBatchPut(b []byte) (*kvrpcpb.RawBatchPutResponse, bool) {
	m := &kvrpcpb.RawBatchPutResponse{}
	return m, decodeErrorOnly(b, &m.RegionError, &m.Error)
}

func decodeRawDelete(b []byte) (*kvrpcpb.RawDeleteResponse, bool) {
	m := &kvrpcpb.RawDeleteResponse{}
	return m, decodeErrorOnly(b, &m.RegionError, &m.Error)
}

func decodeRawBatchDelete(b []byte) (*kvrpcpb.RawBatchDeleteResponse, bool) {
	m := &kvrpcpb.RawBatchDeleteResponse{}
	return m, decodeErrorOnly(b, &m.RegionError, &m.Error)
}

// pairsExtra names the fields besides region_error and the pairs that a
// pairs response carries (0: the message has no such field).
type pairsExtra struct {
	keyErrNum  protowire.Number // KeyError error
	keyErr     **kvrpcpb.KeyError
	detailsNum protowire.Number // ExecDetailsV2 exec_details_v2
	details    **kvrpcpb.ExecDetailsV2
}

// decodePairsResponse decodes the responses made of a region error,
// repeated KvPairs (RawBatchGet, RawScan, KvBatchGet, KvScan) and the
// fields x names. The pairs are counted first, then decoded into one slab;
// keys and values alias b.
func decodePairsResponse(b []byte, regionErr **errorpb.Error, x pairsExtra) ([]*kvrpcpb.KvPair, bool) {
	count := 0
	for rest := b; len(rest) > 0; {
		f, r, ok := nextField(rest)
		if !ok {
			return nil, false
		}
		rest = r
		if f.num == fieldPairs {
			if !f.isBytes() {
				return nil, false
			}
			count++
		}
	}
	var pairs []*kvrpcpb.KvPair
	var slab []kvrpcpb.KvPair
	if count > 0 {
		pairs = make([]*kvrpcpb.KvPair, count)
		slab = make([]kvrpcpb.KvPair, count)
	}
	i := 0
	for len(b) > 0 {
		f, rest, _ := nextField(b) // validated by the counting pass
		b = rest
		switch f.num {
		case fieldRegionError:
			if !f.isBytes() || !mergeRegionError(regionErr, f.bytes) {
				return nil, false
			}
		case fieldPairs:
			if !decodeKvPair(f.bytes, &slab[i]) {
				return nil, false
			}
			pairs[i] = &slab[i]
			i++
		case 0:
			// Not a field number on the wire; x uses it for "none".
		case x.keyErrNum:
			if !f.isBytes() || !mergeKeyError(x.keyErr, f.bytes) {
				return nil, false
			}
		case x.detailsNum:
			if !f.isBytes() || !mergeDetails(x.details, f.bytes) {
				return nil, false
			}
		}
	}
	return pairs, true
}

// mergeKeyError decodes a KeyError field into *dst, merging like
// mergeRegionError.
func mergeKeyError(dst **kvrpcpb.KeyError, b []byte) bool {
	if *dst == nil {
		*dst = &kvrpcpb.KeyError{}
	}
	return (*dst).Unmarshal(b) == nil
}

// mergeDetails decodes an exec_details_v2 field into *dst, merging like
// mergeRegionError.
func mergeDetails(dst **kvrpcpb.ExecDetailsV2, b []byte) bool {
	if *dst == nil {
		*dst = &kvrpcpb.ExecDetailsV2{}
	}
	return (*dst).Unmarshal(b) == nil
}

// decodeKvPair decodes one KvPair into p; Key and Value alias b.
func decodeKvPair(b []byte, p *kvrpcpb.KvPair) bool {
	for len(b) > 0 {
		f, rest, ok := nextField(b)
		if !ok {
			return false
		}
		b = rest
		switch f.num {
		case fieldPairError:
			if !f.isBytes() {
				return false
			}
			if p.Error == nil {
				p.Error = &kvrpcpb.KeyError{}
			}
			if p.Error.Unmarshal(f.bytes) != nil {
				return false
			}
		case fieldPairKey:
			if !f.isBytes() {
				return false
			}
			p.Key = f.bytes
		case fieldPairValue:
			if !f.isBytes() {
				return false
			}
			p.Value = f.bytes
		case fieldPairCommitTS:
			if f.isBytes() {
				return false
			}
			p.CommitTs = f.u
		}
	}
	return true
}

func decodeRawBatchGet(b []byte) (*kvrpcpb.RawBatchGetResponse, bool) {
	m := &kvrpcpb.RawBatchGetResponse{}
	pairs, ok := decodePairsResponse(b, &m.RegionError, pairsExtra{})
	m.Pairs = pairs
	return m, ok
}

func decodeRawScan(b []byte) (*kvrpcpb.RawScanResponse, bool) {
	m := &kvrpcpb.RawScanResponse{}
	kvs, ok := decodePairsResponse(b, &m.RegionError, pairsExtra{})
	m.Kvs = kvs
	return m, ok
}

// Field numbers of the transactional read responses decoded here.
const (
	fieldKvGetError    protowire.Number = 2 // GetResponse.error
	fieldKvGetDetails  protowire.Number = 6 // GetResponse.exec_details_v2
	fieldKvGetCommitTS protowire.Number = 7 // GetResponse.commit_ts

	fieldBatchGetDetails protowire.Number = 4 // BatchGetResponse.exec_details_v2
	fieldBatchGetError   protowire.Number = 5 // BatchGetResponse.error
	fieldScanError       protowire.Number = 3 // ScanResponse.error
)

// decodeKvGet decodes a GetResponse (a snapshot's point read); Value
// aliases b.
func decodeKvGet(b []byte) (*kvrpcpb.GetResponse, bool) {
	m := &kvrpcpb.GetResponse{}
	for len(b) > 0 {
		f, rest, ok := nextField(b)
		if !ok {
			return nil, false
		}
		b = rest
		switch f.num {
		case fieldRegionError:
			if !f.isBytes() || !mergeRegionError(&m.RegionError, f.bytes) {
				return nil, false
			}
		case fieldKvGetError:
			if !f.isBytes() || !mergeKeyError(&m.Error, f.bytes) {
				return nil, false
			}
		case fieldGetValue:
			if !f.isBytes() {
				return nil, false
			}
			m.Value = f.bytes
		case fieldGetNotFound:
			if f.isBytes() {
				return nil, false
			}
			m.NotFound = f.u != 0
		case fieldKvGetDetails:
			if !f.isBytes() || !mergeDetails(&m.ExecDetailsV2, f.bytes) {
				return nil, false
			}
		case fieldKvGetCommitTS:
			if f.isBytes() {
				return nil, false
			}
			m.CommitTs = f.u
		}
	}
	return m, true
}

func decodeKvBatchGet(b []byte) (*kvrpcpb.BatchGetResponse, bool) {
	m := &kvrpcpb.BatchGetResponse{}
	pairs, ok := decodePairsResponse(b, &m.RegionError, pairsExtra{
		keyErrNum: fieldBatchGetError, keyErr: &m.Error,
		detailsNum: fieldBatchGetDetails, details: &m.ExecDetailsV2,
	})
	m.Pairs = pairs
	return m, ok
}

func decodeKvScan(b []byte) (*kvrpcpb.ScanResponse, bool) {
	m := &kvrpcpb.ScanResponse{}
	pairs, ok := decodePairsResponse(b, &m.RegionError, pairsExtra{keyErrNum: fieldScanError, keyErr: &m.Error})
	m.Pairs = pairs
	return m, ok
}

// Field numbers of the transactional write responses decoded here.
const (
	fieldWriteErrors protowire.Number = 2 // repeated KeyError errors (Prewrite, PessimisticLock)

	fieldPrewriteMinCommitTS   protowire.Number = 3
	fieldPrewriteOnePCCommitTS protowire.Number = 4
	fieldPrewriteDetails       protowire.Number = 5

	fieldCommitError   protowire.Number = 2 // CommitResponse.error
	fieldCommitVersion protowire.Number = 3
	fieldCommitDetails protowire.Number = 4
	fieldLockDetails   protowire.Number = 7 // PessimisticLockResponse.exec_details_v2
)

// appendKeyError decodes one element of a repeated KeyError field and
// appends it, as the generated decoder does for each occurrence.
func appendKeyError(dst *[]*kvrpcpb.KeyError, b []byte) bool {
	ke := &kvrpcpb.KeyError{}
	if ke.Unmarshal(b) != nil {
		return false
	}
	*dst = append(*dst, ke)
	return true
}

// decodeKvPrewrite decodes a PrewriteResponse. A successful prewrite is
// empty or carries only the min commit ts (async commit) or the 1PC commit
// ts, so this saves the generated decoder's wrapper messages per request.
func decodeKvPrewrite(b []byte) (*kvrpcpb.PrewriteResponse, bool) {
	m := &kvrpcpb.PrewriteResponse{}
	for len(b) > 0 {
		f, rest, ok := nextField(b)
		if !ok {
			return nil, false
		}
		b = rest
		switch f.num {
		case fieldRegionError:
			if !f.isBytes() || !mergeRegionError(&m.RegionError, f.bytes) {
				return nil, false
			}
		case fieldWriteErrors:
			if !f.isBytes() || !appendKeyError(&m.Errors, f.bytes) {
				return nil, false
			}
		case fieldPrewriteMinCommitTS:
			if f.isBytes() {
				return nil, false
			}
			m.MinCommitTs = f.u
		case fieldPrewriteOnePCCommitTS:
			if f.isBytes() {
				return nil, false
			}
			m.OnePcCommitTs = f.u
		case fieldPrewriteDetails:
			if !f.isBytes() || !mergeDetails(&m.ExecDetailsV2, f.bytes) {
				return nil, false
			}
		}
	}
	return m, true
}

// decodeKvCommit decodes a CommitResponse.
func decodeKvCommit(b []byte) (*kvrpcpb.CommitResponse, bool) {
	m := &kvrpcpb.CommitResponse{}
	for len(b) > 0 {
		f, rest, ok := nextField(b)
		if !ok {
			return nil, false
		}
		b = rest
		switch f.num {
		case fieldRegionError:
			if !f.isBytes() || !mergeRegionError(&m.RegionError, f.bytes) {
				return nil, false
			}
		case fieldCommitError:
			if !f.isBytes() || !mergeKeyError(&m.Error, f.bytes) {
				return nil, false
			}
		case fieldCommitVersion:
			if f.isBytes() {
				return nil, false
			}
			m.CommitVersion = f.u
		case fieldCommitDetails:
			if !f.isBytes() || !mergeDetails(&m.ExecDetailsV2, f.bytes) {
				return nil, false
			}
		}
	}
	return m, true
}

// decodeKvPessimisticLock decodes the common PessimisticLockResponse: a
// region error, key errors and exec details. Values, existence and the
// per-key results (return-values, check-existence and force-lock requests)
// are left to the generated decoder: any of those fields makes it report
// false.
func decodeKvPessimisticLock(b []byte) (*kvrpcpb.PessimisticLockResponse, bool) {
	m := &kvrpcpb.PessimisticLockResponse{}
	for len(b) > 0 {
		f, rest, ok := nextField(b)
		if !ok {
			return nil, false
		}
		b = rest
		switch f.num {
		case fieldRegionError:
			if !f.isBytes() || !mergeRegionError(&m.RegionError, f.bytes) {
				return nil, false
			}
		case fieldWriteErrors:
			if !f.isBytes() || !appendKeyError(&m.Errors, f.bytes) {
				return nil, false
			}
		case fieldLockDetails:
			if !f.isBytes() || !mergeDetails(&m.ExecDetailsV2, f.bytes) {
				return nil, false
			}
		case 3, 4, 5, 6, 8: // commit_ts, value, values, not_founds, results
			return nil, false
		}
	}
	return m, true
}

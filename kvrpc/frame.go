package kvrpc

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// rawFrame is an already-encoded protobuf message; the codec sends it as is.
type rawFrame []byte

// pooledFrame is an already-encoded protobuf message in a buffer taken from
// gRPC's default buffer pool. Sending it hands the buffer to gRPC, which
// returns it to the pool once written.
type pooledFrame struct{ buf *[]byte }

// Field keys of tikvpb.BatchCommandsRequest (field number << 3 | wire type).
const (
	keyRequests     = 1<<3 | 2 // repeated Request, length-delimited
	keyRequestIDs   = 2<<3 | 2 // packed repeated uint64
	keyClientSendNs = 3<<3 | 0 // uint64 varint
)

// encodeFrame encodes req as one element of BatchCommandsRequest.requests:
// the field key, the length, and the BatchCommandsRequest_Request message.
func encodeFrame(req *Request) ([]byte, error) {
	if arm := req.cmd.batchArm(); arm != 0 {
		if m, ok := req.msg.(gogoMessage); ok {
			return encodeArmFrame(req, arm, m)
		}
	}
	m := req.cmd.toBatch(req.msg)
	n := m.Size()
	head := 1 + uvarintLen(uint64(n))
	buf := make([]byte, head+n)
	buf[0] = keyRequests
	binary.PutUvarint(buf[1:], uint64(n))
	w, err := m.MarshalToSizedBuffer(buf[head:])
	if err != nil {
		return nil, fmt.Errorf("kvrpc: encode %s: %w", req.Type(), err)
	}
	if w != n {
		return nil, fmt.Errorf("kvrpc: encode %s: wrote %d of %d bytes", req.Type(), w, n)
	}
	return buf, nil
}

// encodeArmFrame is encodeFrame without building the oneof wrappers: the
// BatchCommandsRequest_Request holds one field, the command's arm, whose
// body is the request message itself.
func encodeArmFrame(req *Request, arm protowire.Number, m gogoMessage) ([]byte, error) {
	n := m.Size()
	armLen := protowire.SizeTag(arm) + protowire.SizeBytes(n)
	buf := make([]byte, 0, 1+protowire.SizeVarint(uint64(armLen))+armLen)
	buf = append(buf, keyRequests)
	buf = protowire.AppendVarint(buf, uint64(armLen))
	buf = protowire.AppendTag(buf, arm, protowire.BytesType)
	buf = protowire.AppendVarint(buf, uint64(n))
	body := buf[len(buf) : len(buf)+n]
	w, err := m.MarshalToSizedBuffer(body)
	if err != nil {
		return nil, fmt.Errorf("kvrpc: encode %s: %w", req.Type(), err)
	}
	if w != n {
		return nil, fmt.Errorf("kvrpc: encode %s: wrote %d of %d bytes", req.Type(), w, n)
	}
	return buf[:len(buf)+n], nil
}

// encodeBatch concatenates pre-encoded request frames with the request ids
// and send time into one BatchCommandsRequest, in a buffer from gRPC's
// pool. Protobuf allows fields in any order, and repeated elements simply
// accumulate.
//
// The buffer is always at least pooledMin bytes large: gRPC returns only
// such buffers to its pool once written (see
// mem.IsBelowBufferPoolingThreshold), and for them it also reuses the
// Buffer object that carries the bytes, while a smaller buffer would cost
// its own allocation, one for its pointer and one for the Buffer, per
// message. The message of one small request then allocates nothing.
func encodeBatch(es []*entry, ids []uint64, sendNs uint64) pooledFrame {
	idsLen := 0
	for _, id := range ids {
		idsLen += uvarintLen(id)
	}
	size := 1 + uvarintLen(uint64(idsLen)) + idsLen + 1 + uvarintLen(sendNs)
	for _, e := range es {
		size += len(e.frame)
	}
	pb := mem.DefaultBufferPool().Get(max(size, pooledMin))
	buf := (*pb)[:0]
	for _, e := range es {
		buf = append(buf, e.frame...)
	}
	*pb = appendBatchTail(buf, ids, idsLen, sendNs) // still the pool's array: it had room
	return pooledFrame{buf: pb}
}

// appendBatchTail appends the request ids and send time fields.
func appendBatchTail(buf []byte, ids []uint64, idsLen int, sendNs uint64) []byte {
	buf = append(buf, keyRequestIDs)
	buf = binary.AppendUvarint(buf, uint64(idsLen))
	for _, id := range ids {
		buf = binary.AppendUvarint(buf, id)
	}
	buf = append(buf, keyClientSendNs)
	return binary.AppendUvarint(buf, sendNs)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

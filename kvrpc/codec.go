package kvrpc

import (
	"fmt"
	"slices"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// gogoMessage is what kvproto's gogo-generated messages implement. Calling
// these methods directly skips the reflection-based wrapping the default gRPC
// codec applies to legacy (APIv1) messages, which costs several allocations
// per message on the hot path.
type gogoMessage interface {
	Size() int
	MarshalToSizedBuffer([]byte) (int, error)
	Unmarshal([]byte) error
}

// wireCodec is the gRPC codec the client installs per connection with
// grpc.ForceCodecV2 (never registered globally). Besides kvproto messages it
// understands the batch path's own types: a pooledFrame (an already-encoded
// BatchCommandsRequest in a buffer from gRPC's pool, returned to it once
// written) and a *recvBuffer (the raw bytes of a BatchCommandsResponse,
// copied into a buffer the receive loop reuses).
type wireCodec struct{}

var _ encoding.CodecV2 = wireCodec{}

func (wireCodec) Name() string { return "proto" }

func (wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	switch f := v.(type) {
	case pooledFrame:
		return mem.BufferSlice{mem.NewBuffer(f.buf, mem.DefaultBufferPool())}, nil
	case rawFrame:
		return mem.BufferSlice{mem.SliceBuffer(f)}, nil
	}
	b, err := codec{}.Marshal(v)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*recvBuffer); ok {
		r.buf = slices.Grow(r.buf[:0], data.Len())[:data.Len()]
		data.CopyTo(r.buf)
		return nil
	}
	// The kvproto decoders copy every byte they keep, so the buffer can go
	// back to the pool right after.
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return codec{}.Unmarshal(buf.ReadOnlyData(), v)
}

// codec is the plain (v1) form of the kvproto codec, used by wireCodec for
// ordinary messages and by test servers.
type codec struct{}

var _ encoding.Codec = codec{}

func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) ([]byte, error) {
	if f, ok := v.(rawFrame); ok {
		return f, nil
	}
	if m, ok := v.(gogoMessage); ok {
		buf := make([]byte, m.Size())
		n, err := m.MarshalToSizedBuffer(buf)
		if err != nil {
			return nil, err
		}
		return buf[len(buf)-n:], nil
	}
	if m, ok := v.(protoadapt.MessageV1); ok {
		return proto.Marshal(protoadapt.MessageV2Of(m))
	}
	if m, ok := v.(proto.Message); ok {
		return proto.Marshal(m)
	}
	return nil, fmt.Errorf("kvrpc: cannot marshal %T", v)
}

func (codec) Unmarshal(data []byte, v any) error {
	if m, ok := v.(gogoMessage); ok {
		return m.Unmarshal(data)
	}
	if m, ok := v.(protoadapt.MessageV1); ok {
		return proto.Unmarshal(data, protoadapt.MessageV2Of(m))
	}
	if m, ok := v.(proto.Message); ok {
		return proto.Unmarshal(data, m)
	}
	return fmt.Errorf("kvrpc: cannot unmarshal into %T", v)
}

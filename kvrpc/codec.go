package kvrpc

import (
	"fmt"

	"google.golang.org/grpc/encoding"
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

// codec is a gRPC codec for kvproto messages. It is installed per connection
// with grpc.ForceCodec, never registered globally.
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

package kvrpc

// Codec is the kvproto gRPC codec, exported so the fake store in tests
// decodes as cheaply as the client does.
var Codec = codec{}

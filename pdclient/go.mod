module github.com/tikvgo/tikvgo/pdclient

go 1.26.0

require github.com/pingcap/kvproto v0.0.0-20260724054804-059694ae4472

require (
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/golang/protobuf v1.5.3 // indirect
	github.com/google/go-cmp v0.6.0 // indirect
	google.golang.org/protobuf v1.31.0 // indirect
)

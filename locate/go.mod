module github.com/tikvgo/tikvgo/locate

go 1.26.0

require (
	github.com/google/btree v1.1.3
	github.com/pingcap/kvproto v0.0.0-20260724054804-059694ae4472
	github.com/tikvgo/tikvgo/kvrpc v0.0.0
	github.com/tikvgo/tikvgo/pdclient v0.0.0
	github.com/tikvgo/tikvgo/retry v0.0.0
	go.uber.org/goleak v1.3.0
	golang.org/x/sync v0.25.0
)

require (
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	github.com/tikvgo/tikvgo/kvrpc => ../kvrpc
	github.com/tikvgo/tikvgo/pdclient => ../pdclient
	github.com/tikvgo/tikvgo/retry => ../retry
)

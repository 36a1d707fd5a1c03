module github.com/tikvgo/tikvgo/integration

go 1.26.0

require (
	github.com/pingcap/kvproto v0.0.0-20260724054804-059694ae4472
	github.com/tikvgo/tikvgo/pdclient v0.0.0
	github.com/tikvgo/tikvgo/retry v0.0.0
	github.com/tikvgo/tikvgo/tikvsim v0.0.0
	github.com/tikvgo/tikvgo/tso v0.0.0
	go.uber.org/goleak v1.3.0
)

require golang.org/x/sync v0.25.0 // indirect

require (
	github.com/coreos/go-semver v0.3.0 // indirect
	github.com/coreos/go-systemd/v22 v22.3.2 // indirect
	go.etcd.io/etcd/client/pkg/v3 v3.5.10 // indirect
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.6.0 // indirect
	go.uber.org/zap v1.17.0 // indirect
)

require (
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/google/btree v1.1.3 // indirect
	github.com/tikvgo/tikvgo/gc v0.0.0
	github.com/tikvgo/tikvgo/gcetcd v0.0.0
	github.com/tikvgo/tikvgo/kvrpc v0.0.0
	github.com/tikvgo/tikvgo/latches v0.0.0 // indirect
	github.com/tikvgo/tikvgo/locate v0.0.0
	github.com/tikvgo/tikvgo/twopc v0.0.0
	github.com/tikvgo/tikvgo/txnkv v0.0.0
	go.etcd.io/etcd/api/v3 v3.5.10 // indirect
	go.etcd.io/etcd/client/v3 v3.5.10
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/tikvgo/tikvgo/pdclient => ../pdclient

replace github.com/tikvgo/tikvgo/retry => ../retry

replace github.com/tikvgo/tikvgo/tikvsim => ../tikvsim

replace github.com/tikvgo/tikvgo/tso => ../tso

replace github.com/tikvgo/tikvgo/gc => ../gc

replace github.com/tikvgo/tikvgo/twopc => ../twopc

replace github.com/tikvgo/tikvgo/locate => ../locate

replace github.com/tikvgo/tikvgo/kvrpc => ../kvrpc

replace github.com/tikvgo/tikvgo/gcetcd => ../gcetcd

replace github.com/tikvgo/tikvgo/txnkv => ../txnkv

replace github.com/tikvgo/tikvgo/latches => ../latches

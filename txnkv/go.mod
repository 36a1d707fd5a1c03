module github.com/tikvgo/tikvgo/txnkv

go 1.26.0

require (
	github.com/tikvgo/tikvgo/retry v0.0.0
	go.uber.org/goleak v1.3.0
)

replace github.com/tikvgo/tikvgo/retry => ../retry

module github.com/tikvgo/tikvgo/txnkv

go 1.26.0

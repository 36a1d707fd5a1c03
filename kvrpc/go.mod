module github.com/tikvgo/tikvgo/kvrpc

go 1.26.0

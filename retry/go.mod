module github.com/tikvgo/tikvgo/retry

go 1.26.0

module github.com/tikvgo/tikvgo/latches

go 1.26.0

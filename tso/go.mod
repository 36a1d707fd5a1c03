module github.com/tikvgo/tikvgo/tso

go 1.26.0

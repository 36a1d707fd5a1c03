module github.com/tikvgo/tikvgo/tikv

go 1.26.0

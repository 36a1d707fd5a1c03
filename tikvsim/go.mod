module github.com/tikvgo/tikvgo/tikvsim

go 1.26.0

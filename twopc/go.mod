module github.com/tikvgo/tikvgo/twopc

go 1.26.0

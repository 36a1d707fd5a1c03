module github.com/tikvgo/tikvgo/rawkv

go 1.26.0

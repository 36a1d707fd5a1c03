module github.com/tikvgo/tikvgo/peer

go 1.26.0

module github.com/tikvgo/tikvgo/pdclient

go 1.26.0

module github.com/tikvgo/tikvgo/locate

go 1.26.0

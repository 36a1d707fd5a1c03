module github.com/tikvgo/tikvgo/tikvprom

go 1.26.0

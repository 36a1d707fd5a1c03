module github.com/tikvgo/tikvgo/e2e

go 1.26.0

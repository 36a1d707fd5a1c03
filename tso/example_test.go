package tso_test

import (
	"fmt"
	"time"

	"github.com/tikvgo/tikvgo/tso"
)

func ExampleCompose() {
	ts := tso.Compose(1_700_000_000_000, 42)
	fmt.Println(ts.Physical(), ts.Logical())
	fmt.Println(ts.Time().UTC().Format(time.RFC3339))
	fmt.Println(tso.FromTime(ts.Time()) < ts)
	// Output:
	// 1700000000000 42
	// 2023-11-14T22:13:20Z
	// true
}

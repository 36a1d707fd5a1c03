package memdb_test

import (
	"fmt"

	"github.com/tikvgo/tikvgo/txnkv/memdb"
)

// A statement runs in a staging level: if it fails, Cleanup undoes its
// writes and the transaction's earlier writes stay.
func Example() {
	db := memdb.New(memdb.WithTotalSizeLimit(1 << 20))
	_ = db.Set([]byte("a"), []byte("1"))

	h := db.Staging()
	_ = db.Set([]byte("a"), []byte("2"))
	_ = db.Delete([]byte("b"))
	_ = db.Cleanup(h) // the statement failed

	h = db.Staging()
	_ = db.Set([]byte("c"), []byte("3"), memdb.SetPresumeKeyNotExists)
	_ = db.Release(h) // the statement succeeded

	for k, v := range db.All(nil, nil) {
		fmt.Printf("%s=%s\n", k, v)
	}
	for m := range db.Mutations(false) {
		fmt.Println(m.Op, string(m.Key))
	}
	// Output:
	// a=1
	// c=3
	// Put a
	// Insert c
}

// A merge with snapshot reads needs the tombstones: a key deleted in the
// buffer hides the snapshot's value.
func ExampleMemDB_Iter() {
	db := memdb.New()
	_ = db.Set([]byte("k1"), []byte("v1"))
	_ = db.Delete([]byte("k2"))
	_ = db.Set([]byte("k3"), nil) // an empty value, not a delete

	for it := db.IterReverse(nil, nil, memdb.WithTombstones); it.Valid(); it.Next() {
		fmt.Printf("%s deleted=%v value=%q\n", it.Key(), it.Deleted(), it.Value())
	}
	// Output:
	// k3 deleted=false value=""
	// k2 deleted=true value=""
	// k1 deleted=false value="v1"
}

// Command tikv talks to a TiKV cluster through PD, or, when no --pd is
// given, to an embedded simulated cluster (tikvsim) started in-process, so
// it works out of the box.
//
// Usage:
//
//	tikv [global flags] <command> [flags] [args]
//
// Commands:
//
//	tso                       get a timestamp (value, physical time, logical)
//	regions [--start k] [--end k] [--limit n]
//	                          list regions: id, keys, epoch, leader, peers
//	stores                    list stores: id, address, state, labels
//	raw get KEY | put KEY VALUE [--ttl d] | delete KEY
//	raw scan [START [END]] [--limit n] [--key-only] [--reverse]
//	raw cas KEY OLD NEW | raw cas --absent KEY NEW
//	raw ttl KEY | raw checksum [START [END]]
//	txn get KEY | put KEY VALUE | delete KEY
//	txn scan [START [END]] [--limit n] [--key-only] [--reverse]
//	                          transactional commands; each is its own
//	                          transaction, or, in a shell between begin and
//	                          commit, part of the open one
//	sim [--pds n] [--stores n] [--replicas n] [--admin addr]
//	                          run a simulated cluster until SIGINT/SIGTERM
//	shell                     read commands from stdin, one per line, over
//	                          one cluster connection; begin [--pessimistic],
//	                          commit and rollback span lines, and the open
//	                          transaction's buffered writes are visible to
//	                          its own txn get and txn scan
//
// Global flags:
//
//	--pd host:port[,host:port]   a real cluster (default: embedded tikvsim)
//	-o, --output text|json       aligned columns, or one JSON document per command
//	--timeout 30s                limit of each command, connecting included
//	--ca, --cert, --key          PEM files for TLS (needs --pd)
//	--api-version v1|v1ttl|v2    storage API version
//	--keyspace name              keyspace (needs --api-version v2)
//
// Examples:
//
//	go run ./tools/cmd/tikv tso
//	printf 'tso\nstores\nraw put k1 v1\nraw get k1\n' | go run ./tools/cmd/tikv shell
//	printf 'begin\ntxn put k1 v1\ntxn get k1\ncommit\n' | go run ./tools/cmd/tikv shell
//	tikv --pd 127.0.0.1:2379 -o json regions --limit 10
//
// Each one-shot command without --pd gets a fresh embedded cluster, so a
// value written by one command is gone for the next; use shell, or sim and
// --pd, to keep data across commands.
//
// # JSON output
//
// With --output json every command prints one JSON document on one line (a
// shell session prints one per command). Field names are stable. Keys and
// values are objects {"text": ..., "hex": ...}: text is the string itself when
// it is valid UTF-8 (Go-quoted otherwise), hex is always lossless.
//
//	tso       {"tso", "physical" (Unix ms), "physical_time" (RFC 3339), "logical"}
//	regions   {"regions": [{"id", "start_key", "end_key", "conf_ver", "version",
//	          "leader_store", "peers": [{"id", "store_id", "role"}]}]}
//	stores    {"stores": [{"id", "address", "state", "labels", "version"}]}
//	sim       {"pd": [...], "stores": [{"id", "address"}], "admin"}
//	raw get   {"key", "found", "value"}           raw put, delete  {"key", "ok", "ttl_seconds"}
//	raw scan  {"pairs": [{"key", "value"}]}       raw cas  {"key", "swapped", "previous_exists", "previous"}
//	raw ttl   {"key", "found", "expires", "ttl_seconds"}
//	raw checksum  {"crc64_xor", "total_kvs", "total_bytes"}
//	txn get   {"key", "found", "value"}           txn put, delete  {"key", "ok", "buffered"}
//	txn scan  {"pairs": [{"key", "value"}]}       begin, commit, rollback  {"action", "start_ts", "commit_ts"}
//
// The exit status is 0 on success, 1 when the command failed (including a
// piped shell script in which any line failed), and 2 for usage errors.
package main

package peer

import (
	"testing"

	"github.com/pingcap/log"
	"go.uber.org/goleak"
	"go.uber.org/zap/zapcore"
)

func TestMain(m *testing.M) {
	// mocktikv logs through pingcap/log's process-wide zap logger (and logs
	// decoding noise on every reverse scan of an empty store); keep test
	// output readable.
	log.SetLevel(zapcore.FatalLevel)
	goleak.VerifyTestMain(m,
		// goleveldb's memory-pool drainer outlives DB.Close by up to a
		// second (it waits for one last pooled buffer, unsynchronised);
		// every mock store here is closed by t.Cleanup.
		goleak.IgnoreTopFunction("github.com/pingcap/goleveldb/leveldb.(*DB).mpoolDrain"),
	)
}

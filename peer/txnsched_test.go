package peer

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestGenerateTxnSchedule: a seed fixes the schedule; every schedule ends
// every transaction it began, steps only touch begun transactions, an
// async lock step is released by a later commit or rollback of another
// transaction, and over a few hundred seeds every kind of step and
// expectation the differential test relies on shows up.
func TestGenerateTxnSchedule(t *testing.T) {
	a, b := GenerateTxnSchedule(7, 30), GenerateTxnSchedule(7, 30)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different schedules:\n%s\n%s", a, b)
	}
	if reflect.DeepEqual(a, GenerateTxnSchedule(8, 30)) {
		t.Fatal("seeds 7 and 8 give the same schedule")
	}
	if raw, err := json.Marshal(a); err != nil {
		t.Fatal(err)
	} else {
		var back TxnSchedule
		if err := json.Unmarshal(raw, &back); err != nil || !reflect.DeepEqual(&back, a) {
			t.Fatalf("JSON round trip: %v", err)
		}
	}
	seen := map[string]int{}
	for seed := int64(1); seed <= 300; seed++ {
		s := GenerateTxnSchedule(seed, 30)
		if len(s.Steps) < 30 {
			t.Fatalf("seed %d: %d steps, want at least 30\n%s", seed, len(s.Steps), s)
		}
		begun, ended := map[int]int{}, map[int]int{}
		for i, st := range s.Steps {
			switch {
			case st.Op == OpBegin:
				if _, ok := begun[st.Txn]; ok {
					t.Fatalf("seed %d step %d: T%d begins twice\n%s", seed, i, st.Txn, s)
				}
				begun[st.Txn] = i
			case st.Snap:
				if _, ok := begun[st.Txn]; !ok {
					t.Fatalf("seed %d step %d: snapshot at T%d, not begun\n%s", seed, i, st.Txn, s)
				}
				seen["snap"]++
			default:
				if _, ok := begun[st.Txn]; !ok {
					t.Fatalf("seed %d step %d: T%d not begun\n%s", seed, i, st.Txn, s)
				}
				if _, ok := ended[st.Txn]; ok {
					t.Fatalf("seed %d step %d: T%d already ended\n%s", seed, i, st.Txn, s)
				}
			}
			if st.Op == OpCommit || st.Op == OpRollback {
				ended[st.Txn] = i
			}
			if st.Async {
				rel := st.DoneBy
				if rel <= i || rel >= len(s.Steps) || s.Steps[rel].Txn == st.Txn ||
					(s.Steps[rel].Op != OpCommit && s.Steps[rel].Op != OpRollback) {
					t.Fatalf("seed %d step %d: async, released by step %d\n%s", seed, i, rel, s)
				}
				for _, later := range s.Steps[i+1 : rel] {
					if later.Txn == st.Txn && !later.Snap {
						t.Fatalf("seed %d step %d: T%d runs a step while blocked\n%s", seed, i, st.Txn, s)
					}
				}
				seen["async"]++
			}
			seen[string(st.Op)]++
			if c, _, ok := strings.Cut(st.Expect, ":"); ok {
				seen[c]++
			}
		}
		for txn := range begun {
			if _, ok := ended[txn]; !ok {
				t.Fatalf("seed %d: T%d never ends\n%s", seed, txn, s)
			}
		}
	}
	for _, want := range []string{"snap", "async", string(OpGet), string(OpBatchGet), string(OpScan), string(OpSet),
		string(OpDelete), string(OpInsert), string(OpLock), string(OpCommit), string(OpRollback),
		ClassDeadlock, ClassLockNoWait, ClassLockWaitTimeout} {
		if seen[want] == 0 {
			t.Errorf("no %q in 300 schedules", want)
		}
	}
	t.Logf("over 300 schedules: %v", seen)
}

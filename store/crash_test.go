package store_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-relay/ferry"
	"github.com/ferry-relay/ferry/store"
)

// crashBlock is block h of the crash test's chain: two deposits, and a spend
// of the first deposit of block h-1.
func crashBlock(h int64) *store.Changes {
	b := chainBlock("ltc", h, 0, ferry.Amount(h), ferry.Amount(h+1))
	if h > 101 {
		b.Spends = []store.Spend{{OutPoint: chainBlock("ltc", h-1, 0, 0).Deposits[0].OutPoint, TxID: hashOf(-h)}}
	}
	return b
}

// TestCrashHelper is the child of TestBlockCrashAtomicity: it applies blocks
// as fast as it can until it is killed.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv("FERRY_STORE_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestBlockCrashAtomicity")
	}
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := db.Cursor("ltc")
	if err != nil {
		mustStart(t, db, "ltc")
		cur.Height = 100
	}
	fmt.Println("ready")
	for h := cur.Height + 1; ; h++ {
		if err := db.Apply(crashBlock(h)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBlockCrashAtomicity kills a process applying blocks with SIGKILL at
// random moments and checks, after each kill, that the store holds every
// block up to its cursor entirely and nothing of any block after it.
func TestBlockCrashAtomicity(t *testing.T) {
	if testing.Short() {
		t.Skip("kills subprocesses")
	}
	dir := t.TempDir()
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
		cmd.Env = append(os.Environ(), "FERRY_STORE_CRASH_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		if _, err := out.Read(buf); err != nil {
			t.Fatalf("round %d: child did not start: %v", round, err)
		}
		time.Sleep(time.Duration(20+rand.IntN(200)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		db, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		cur, err := db.Cursor("ltc")
		if err != nil {
			t.Fatal(err)
		}
		if cur.Hash != hashOf(cur.Height) {
			t.Fatalf("round %d: cursor %d has the wrong hash", round, cur.Height)
		}
		if _, err := db.BlockHash("ltc", cur.Height); err != nil {
			t.Fatalf("round %d: cursor block %d has no record: %v", round, cur.Height, err)
		}
		open, _ := db.OpenDeposits("ltc")
		wantOpen := 1 // the second deposit of every block, and the first of the cursor block
		for h := int64(101); h <= cur.Height; h++ {
			for i, d := range crashBlock(h).Deposits {
				got, err := db.Deposit("ltc", d.OutPoint)
				if err != nil {
					t.Fatalf("round %d: deposit %d of block %d (cursor %d): %v", round, i, h, cur.Height, err)
				}
				if spent := i == 0 && h < cur.Height; got.Spent() != spent {
					t.Fatalf("round %d: deposit %d of block %d spent=%v (cursor %d)", round, i, h, got.Spent(), cur.Height)
				}
			}
			wantOpen++
		}
		if cur.Height == 100 {
			wantOpen = 0
		}
		if len(open) != wantOpen {
			t.Fatalf("round %d: %d open deposits at cursor %d, want %d", round, len(open), cur.Height, wantOpen)
		}
		for i, d := range crashBlock(cur.Height + 1).Deposits {
			if _, err := db.Deposit("ltc", d.OutPoint); err == nil {
				t.Fatalf("round %d: deposit %d of block %d, after the cursor %d, is recorded", round, i, cur.Height+1, cur.Height)
			}
		}
		t.Logf("round %d: killed at block %d", round, cur.Height)
		db.Close()
	}
}

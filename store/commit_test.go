package store_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-relay/ferry/store"
)

// TestGroupCommit puts addresses from many goroutines at once: every call
// returns with its own address recorded, and the next index follows the
// highest.
func TestGroupCommit(t *testing.T) {
	db := MustOpen(t)
	var next atomic.Uint32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 50 {
				i := next.Add(1) - 1
				a := &store.Address{Coin: "ltc", Index: i, Created: time.Unix(1700000000, 0)}
				copy(a.Program[:], fmt.Sprintf("program-%013d", i))
				if err := db.PutAddress(a); err != nil {
					t.Error(err)
					return
				}
				if got, err := db.Address("ltc", i); err != nil || got.Program != a.Program {
					t.Errorf("address %d after its put: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	if n, err := db.NextIndex("ltc"); err != nil || n != 64*50 {
		t.Errorf("NextIndex = %d, %v; want %d", n, err, 64*50)
	}
}

// TestAddressCrashHelper is the child of TestAddressCrashDurability: it
// puts addresses from 32 goroutines, printing each index once its put has
// returned, until it is killed.
func TestAddressCrashHelper(t *testing.T) {
	dir := os.Getenv("FERRY_ADDRESS_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestAddressCrashDurability")
	}
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	first, err := db.NextIndex("ltc")
	if err != nil {
		t.Fatal(err)
	}
	var next atomic.Uint32
	next.Store(first)
	var out sync.Mutex
	fmt.Println("ready")
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				a := &store.Address{Coin: "ltc", Index: i, Created: time.Now()}
				copy(a.Program[:], fmt.Sprintf("program-%013d", i))
				if err := db.PutAddress(a); err != nil {
					t.Error(err)
					return
				}
				out.Lock()
				fmt.Println(i)
				out.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestAddressCrashDurability kills a process putting addresses
// concurrently (group commits under way) with SIGKILL at random moments.
// After each kill, every address whose put had returned is in the store,
// and the next index is above all of them: no index can be handed out
// twice.
func TestAddressCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("kills subprocesses")
	}
	dir := t.TempDir()
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAddressCrashHelper$")
		cmd.Env = append(os.Environ(), "FERRY_ADDRESS_CRASH_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		if !lines.Scan() || lines.Text() != "ready" {
			t.Fatalf("round %d: child did not start", round)
		}
		var replied []uint32
		done := make(chan struct{})
		go func() {
			defer close(done)
			for lines.Scan() {
				if i, err := strconv.ParseUint(lines.Text(), 10, 32); err == nil {
					replied = append(replied, uint32(i))
				}
			}
		}()
		time.Sleep(time.Duration(50+rand.IntN(300)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		<-done

		db, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		next, err := db.NextIndex("ltc")
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range replied {
			if _, err := db.Address("ltc", i); err != nil {
				t.Fatalf("round %d: address %d was put but is not in the store: %v", round, i, err)
			}
			if i >= next {
				t.Fatalf("round %d: next index %d, but %d was handed out", round, next, i)
			}
		}
		t.Logf("round %d: %d addresses put before the kill, next index %d", round, len(replied), next)
		db.Close()
	}
}

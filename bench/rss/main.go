// Command rss measures the memory of ferry's watch set: it fills a
// store.WatchSet with n pseudo-random 20-byte programs and prints the
// process's resident set size, next to a plain Go map[[20]byte]uint32 of the
// same programs measured in a separate run of itself.
//
//	go run ./bench/rss -n 10000000
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/ferry-relay/ferry/store"
)

// mapEnv names the variable that makes the program measure a plain map of
// that many programs instead: the parent starts itself again with it.
const mapEnv = "FERRY_RSS_MAP"

func main() {
	measureMapIfAsked()
	n := flag.Int("n", 10_000_000, "watched addresses")
	flag.Parse()
	if err := run(*n, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rss:", err)
		os.Exit(1)
	}
}

// measureMapIfAsked measures a map and exits, in the child run.
func measureMapIfAsked() {
	n, err := strconv.Atoi(os.Getenv(mapEnv))
	if err != nil {
		return
	}
	m := make(map[[20]byte]uint32)
	fill(n, func(p []byte) { m[[20]byte(p)] = 1 })
	report(os.Stdout, "map[[20]byte]uint32", n)
	runtime.KeepAlive(m)
	os.Exit(0)
}

func run(n int, out io.Writer) error {
	base := rssKB()
	w := store.NewWatchSet()
	fill(n, w.Add)
	report(out, "store.WatchSet", n)
	fmt.Fprintf(out, "  (process before filling: %d MB)\n", base/1024)
	runtime.KeepAlive(w)

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", mapEnv, n))
	res, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("map run: %v: %s", err, res)
	}
	_, err = out.Write(res)
	return err
}

// fill adds n pseudo-random programs, without keeping them anywhere else.
func fill(n int, add func([]byte)) {
	var p [20]byte
	x := uint64(0x243F6A8885A308D3)
	for range n {
		for i := 0; i < 20; i += 8 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], x)
			copy(p[i:], b[:])
		}
		add(p[:])
	}
}

func report(out io.Writer, what string, n int) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := rssKB()
	fmt.Fprintf(out, "%-22s n=%d  RSS %d MB  heap in use %d MB  (%.1f bytes/address in heap)\n",
		what, n, rss/1024, ms.HeapInuse>>20, float64(ms.HeapInuse)/float64(n))
}

// rssKB reads VmRSS from /proc/self/status.
func rssKB() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v, _ := strconv.Atoi(strings.Fields(l)[1])
			return v
		}
	}
	return 0
}

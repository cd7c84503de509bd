// Command rss measures the memory of ferry's watch set: it fills a
// store.WatchSet with n pseudo-random 20-byte programs and prints the
// process's resident set size, next to a plain Go map[[20]byte]uint32 of the
// same programs measured in a separate run of itself (-map).
//
//	go run ./bench/rss -n 10000000
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/ferry-relay/ferry/store"
)

func main() {
	n := flag.Int("n", 10_000_000, "watched addresses")
	useMap := flag.Bool("map", false, "measure a plain map instead (run by the parent)")
	flag.Parse()

	if *useMap {
		m := make(map[[20]byte]uint32)
		fill(*n, func(p []byte) { m[[20]byte(p)] = 1 })
		report("map[[20]byte]uint32", *n)
		runtime.KeepAlive(m)
		return
	}

	base := rssKB()
	w := store.NewWatchSet()
	fill(*n, w.Add)
	report("store.WatchSet", *n)
	fmt.Printf("  (process before filling: %d MB)\n", base/1024)
	runtime.KeepAlive(w)

	out, err := exec.Command(os.Args[0], "-map", "-n", strconv.Itoa(*n)).CombinedOutput()
	if err != nil {
		fmt.Fprintln(os.Stderr, "map run:", err, string(out))
		os.Exit(1)
	}
	fmt.Print(string(out))
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

func report(what string, n int) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := rssKB()
	fmt.Printf("%-22s n=%d  RSS %d MB  heap in use %d MB  (%.1f bytes/address in heap)\n",
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

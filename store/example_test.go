package store_test

import (
	"fmt"

	"github.com/ferry-relay/ferry/store"
)

func ExampleWatchSet() {
	w := store.NewWatchSet()
	program := []byte("0123456789abcdefghij") // a 20-byte witness program
	w.Add(program)
	fmt.Println(w.MayContain(program), w.MayContain([]byte("jihgfedcba9876543210")), w.Len())
	// Output: true false 1
}

// The tests' Go program: allocates through named functions, parks goroutines in named functions, and writes
// a heap profile and a goroutine profile (pprof protobuf, gzipped, as Go writes them).
//
// Usage: leakygo HEAP_OUT GOROUTINE_OUT SMALL BIG WAITERS SEED
//   SMALL  64-byte objects kept by leakSmall (the heap leak: grows across builds in the tests)
//   BIG    64 KiB buffers kept by keepBuffers (flat)
//   WAITERS goroutines parked in waitForWork (the goroutine leak)
//   SEED   varies the noise: jitter objects kept by noisyCache
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"
)

var retained [][]byte

//go:noinline
func leakSmall(n int) {
	for i := 0; i < n; i++ {
		retained = append(retained, make([]byte, 64))
	}
}

//go:noinline
func keepBuffers(n int) {
	for i := 0; i < n; i++ {
		retained = append(retained, make([]byte, 64<<10))
	}
}

//go:noinline
func noisyCache(seed int) {
	for i := 0; i < 100+seed%7; i++ {
		retained = append(retained, make([]byte, 256))
	}
}

//go:noinline
func waitForWork(ch chan struct{}) {
	<-ch
}

//go:noinline
func spawnWaiters(n int, ch chan struct{}) {
	for i := 0; i < n; i++ {
		go waitForWork(ch)
	}
}

//go:noinline
func tick(ch chan struct{}) {
	select {
	case <-ch:
	case <-time.After(time.Hour):
	}
}

func number(text string) int {
	n, err := strconv.Atoi(text)
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakygo:", err)
		os.Exit(2)
	}
	return n
}

func write(path string, body func(*os.File) error) {
	f, err := os.Create(path)
	if err == nil {
		err = body(f)
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakygo:", err)
		os.Exit(1)
	}
}

func main() {
	// Every allocation sampled: the profile's numbers are exact.
	runtime.MemProfileRate = 1
	if len(os.Args) != 7 {
		fmt.Fprintln(os.Stderr, "usage: leakygo HEAP_OUT GOROUTINE_OUT SMALL BIG WAITERS SEED")
		os.Exit(2)
	}
	small, big, waiters, seed := number(os.Args[3]), number(os.Args[4]), number(os.Args[5]), number(os.Args[6])
	leakSmall(small)
	keepBuffers(big)
	noisyCache(seed)
	ch := make(chan struct{})
	spawnWaiters(waiters, ch)
	for i := 0; i < 3; i++ {
		go tick(ch)
	}
	// Until every goroutine is parked, and the heap profile holds this cycle's allocations.
	for runtime.NumGoroutine() < waiters+4 {
		runtime.Gosched()
	}
	time.Sleep(20 * time.Millisecond)
	runtime.GC()
	write(os.Args[1], func(f *os.File) error { return pprof.WriteHeapProfile(f) })
	write(os.Args[2], func(f *os.File) error { return pprof.Lookup("goroutine").WriteTo(f, 0) })
	runtime.KeepAlive(retained)
}

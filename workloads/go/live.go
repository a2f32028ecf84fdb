package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// runLive holds N goroutines parked on one gate at the same time.
// Each task counts itself alive before parking; the one that brings the
// count to N announces the plateau. Release is a close of the gate channel
// (the releaser wakes every task: a broadcast; no timers involved).
func runLive(o options) (map[string]any, error) {
	n := int64(o.tasks)
	rounds := uint64(o.work)
	var alive, maxAlive, released atomic.Int64
	checksum := newAccumulator(chosen["accumulate"], int(n))
	gate := newGate(chosen["release"])
	plateau := make(chan struct{})
	var done sync.WaitGroup
	done.Add(int(n))

	var heapBaseline uint64
	if o.forceGC == 1 {
		runtime.GC() // the baseline is read from a collected heap
		heapBaseline = heapAndStacks()
	}
	baseline := procStatusBytes("VmRSS")
	origin := time.Now()
	for i := int64(0); i < n; i++ {
		go func(index int64) {
			now := alive.Add(1)
			if now == n {
				maxAlive.Store(now)
				close(plateau)
			}
			gate.park()
			released.Add(1)
			checksum.add(int(index), work(uint64(index), rounds))
			alive.Add(-1)
			done.Done()
		}(i)
	}
	<-plateau
	toPlateau := time.Since(origin).Nanoseconds()
	var heapPlateau uint64
	if o.forceGC == 1 {
		runtime.GC() // and so is the plateau: what remains is the tasks'
		heapPlateau = heapAndStacks()
	}
	plateauRSS := procStatusBytes("VmRSS")
	emit(map[string]any{
		"type":               "plateau",
		"alive":              maxAlive.Load(),
		"time_to_plateau_ns": toPlateau,
		"rss_bytes":          plateauRSS,
	})

	waitForRelease(o.holdMs)
	releaseStart := time.Now()
	gate.release()
	done.Wait()
	releaseNs := time.Since(releaseStart).Nanoseconds()
	if released.Load() != n {
		return nil, fmt.Errorf("live: %d of %d tasks were released", released.Load(), n)
	}
	out := map[string]any{
		"tasks":              o.tasks,
		"work":               o.work,
		"alive_max":          maxAlive.Load(),
		"completed":          released.Load(),
		"checksum":           checksumHex(checksum.sum()),
		"time_to_plateau_ns": toPlateau,
		"release_ns":         releaseNs,
		"baseline_rss_bytes": baseline,
		"plateau_rss_bytes":  plateauRSS,
		"bytes_per_task":     float64(plateauRSS-baseline) / float64(n),
		"peak_rss_bytes":     procStatusBytes("VmHWM"),
	}
	if o.forceGC == 1 { // the runtime's own account: live heap objects and goroutine stacks
		out["heap_bytes_per_task"] = float64(int64(heapPlateau)-int64(heapBaseline)) / float64(n)
	}
	return out, nil
}

// heapAndStacks: bytes of live heap objects and of goroutine stacks in use.
func heapAndStacks() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// waitForRelease holds the plateau for holdMs, or (holdMs < 0) until a line
// or end-of-file arrives on stdin: that is how the harness says "sampled".
func waitForRelease(holdMs int64) {
	if holdMs >= 0 {
		time.Sleep(time.Duration(holdMs) * time.Millisecond)
		return
	}
	bufio.NewReader(os.Stdin).ReadString('\n')
}

package main

import (
	"sync"
	"sync/atomic"
	"time"
)

// runSpawn: N goroutines, each its own task, each doing `work` rounds.
// The spawner is itself a goroutine (the main one), so it competes for the
// same W workers as the tasks, as it does in Rust and Java (PROTOCOL.md).
func runSpawn(o options) map[string]any {
	n := int(o.tasks)
	rounds := uint64(o.work)
	latency := make([]int64, n) // one slot per task, written only by that task
	var checksum atomic.Uint64
	var done sync.WaitGroup
	done.Add(n)

	origin := time.Now()
	for i := 0; i < n; i++ {
		spawnedAt := time.Since(origin)
		go func(index int, spawnedAt time.Duration) {
			latency[index] = int64(time.Since(origin) - spawnedAt)
			checksum.Add(work(uint64(index), rounds))
			done.Done()
		}(i, spawnedAt)
	}
	spawnNs := time.Since(origin).Nanoseconds()
	done.Wait()
	totalNs := time.Since(origin).Nanoseconds()

	return map[string]any{
		"tasks":          o.tasks,
		"work":           o.work,
		"checksum":       checksumHex(checksum.Load()),
		"total_ns":       totalNs,
		"spawn_ns":       spawnNs,
		"tasks_per_sec":  float64(n) / (float64(totalNs) / 1e9),
		"latency_ns":     summarise(latency),
		"peak_rss_bytes": procStatusBytes("VmHWM"),
	}
}

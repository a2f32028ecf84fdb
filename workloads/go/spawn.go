package main

import (
	"runtime"
	"time"
)

// runSpawn runs warm-up rounds then measured rounds in this one process (as
// JMH does), each spawning N goroutines that each do `work` rounds, and
// reports every round. The spawner is itself a goroutine (the main one), so
// it competes for the same W workers as the tasks, as in Rust and Java.
func runSpawn(o options) map[string]any {
	rounds := o.warmupIters + o.iterations
	iterations := make([]map[string]any, 0, rounds)
	for i := int64(0); i < rounds; i++ {
		warmup := i < o.warmupIters
		if !warmup && o.forceGC == 1 {
			runtime.GC() // each measured round starts from a collected heap
		}
		it := spawnRound(o)
		it["type"] = "iteration"
		it["index"] = i
		it["warmup"] = warmup
		emit(it)
		iterations = append(iterations, it)
	}
	last := iterations[len(iterations)-1]
	result := map[string]any{"iterations": iterations, "peak_rss_bytes": procStatusBytes("VmHWM")}
	for _, k := range []string{"tasks", "work", "checksum", "total_ns", "spawn_ns", "tasks_per_sec", "latency_ns"} {
		result[k] = last[k]
	}
	return result
}

// spawnRound: one round of the protocol's spawn, with the process CPU time it took.
func spawnRound(o options) map[string]any {
	n := int(o.tasks)
	rounds := uint64(o.work)
	latency := make([]int64, n) // one slot per task, written only by that task
	checksum := newAccumulator(chosen["accumulate"], n)
	done := newJoiner(chosen["join"], n)

	cpuBefore := cpuTimeNs() // like the clock, after the protocol's allocation
	origin := time.Now()
	for i := 0; i < n; i++ {
		spawnedAt := time.Since(origin)
		go func(index int, spawnedAt time.Duration) {
			latency[index] = int64(time.Since(origin) - spawnedAt)
			checksum.add(index, work(uint64(index), rounds))
			done.done()
		}(i, spawnedAt)
	}
	spawnNs := time.Since(origin).Nanoseconds()
	done.wait()
	totalNs := time.Since(origin).Nanoseconds()
	cpuNs := cpuTimeNs() - cpuBefore

	return map[string]any{
		"tasks":         o.tasks,
		"work":          o.work,
		"checksum":      checksumHex(checksum.sum()),
		"total_ns":      totalNs,
		"spawn_ns":      spawnNs,
		"tasks_per_sec": float64(n) / (float64(totalNs) / 1e9),
		"latency_ns":    summarise(latency),
		"cpu_ns":        cpuNs,
	}
}

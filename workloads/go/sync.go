package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// The synchronisation primitives (PROTOCOL.md, "Synchronisation primitives"):
// the protocol's choice for every point, and the idiomatic alternatives the
// audit (scripts/primitives_audit.py) measures against it, chosen with
// WORKLOAD_SYNC=point=choice,... Unset, every point uses the first choice.
var syncChoices = map[string][]string{
	"join":       {"waitgroup", "counter", "channel"}, // spawn: wait for all N tasks
	"release":    {"close", "cond", "waitgroup"},      // live: wake every parked task
	"accumulate": {"atomic", "slots"},                 // spawn, live: the checksum
}

type syncConfig map[string]string

func parseSync(text string) (syncConfig, error) {
	cfg := syncConfig{}
	for point, choices := range syncChoices {
		cfg[point] = choices[0]
	}
	for _, item := range strings.Split(text, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		point, choice, ok := strings.Cut(item, "=")
		choices, known := syncChoices[point]
		if !ok || !known {
			return nil, fmt.Errorf("WORKLOAD_SYNC: %q is not point=choice with a point of %s", item, syncPoints())
		}
		if !contains(choices, choice) {
			return nil, fmt.Errorf("WORKLOAD_SYNC: %s=%s: choose one of %s", point, choice, strings.Join(choices, ", "))
		}
		cfg[point] = choice
	}
	return cfg, nil
}

func syncPoints() string {
	points := make([]string, 0, len(syncChoices))
	for p := range syncChoices {
		points = append(points, p)
	}
	sort.Strings(points)
	return strings.Join(points, ", ")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

var chosen = func() syncConfig {
	cfg, err := parseSync(os.Getenv("WORKLOAD_SYNC"))
	if err != nil {
		return nil // main() reports it (exit 2)
	}
	return cfg
}()

// joiner: the spawner waits for all N tasks to finish.
type joiner interface {
	done()
	wait()
}

func newJoiner(kind string, n int) joiner {
	switch kind {
	case "counter":
		return &counterJoin{left: int64(n), all: make(chan struct{})}
	case "channel":
		return &channelJoin{n: n, ch: make(chan struct{}, n)}
	default:
		wg := &waitGroupJoin{}
		wg.wg.Add(n)
		return wg
	}
}

// waitGroupJoin: sync.WaitGroup, Go's own countdown (one shared counter, one waiter woken).
type waitGroupJoin struct{ wg sync.WaitGroup }

func (j *waitGroupJoin) done() { j.wg.Done() }
func (j *waitGroupJoin) wait() { j.wg.Wait() }

// counterJoin: an atomic counter whose last decrement closes a channel.
type counterJoin struct {
	left int64
	all  chan struct{}
}

func (j *counterJoin) done() {
	if atomic.AddInt64(&j.left, -1) == 0 {
		close(j.all)
	}
}
func (j *counterJoin) wait() { <-j.all }

// channelJoin: every task sends on a buffered channel, the spawner receives N times.
type channelJoin struct {
	n  int
	ch chan struct{}
}

func (j *channelJoin) done() { j.ch <- struct{}{} }
func (j *channelJoin) wait() {
	for i := 0; i < j.n; i++ {
		<-j.ch
	}
}

// gate: live's tasks park on it; release wakes them all.
type gate interface {
	park()
	release()
}

func newGate(kind string) gate {
	switch kind {
	case "cond":
		g := &condGate{}
		g.c = sync.NewCond(&g.mu)
		return g
	case "waitgroup":
		g := &waitGroupGate{}
		g.wg.Add(1)
		return g
	default:
		return &closeGate{ch: make(chan struct{})}
	}
}

// closeGate: receive from a channel that release closes (a broadcast by the releaser).
type closeGate struct{ ch chan struct{} }

func (g *closeGate) park()    { <-g.ch }
func (g *closeGate) release() { close(g.ch) }

// condGate: sync.Cond with Broadcast.
type condGate struct {
	mu       sync.Mutex
	c        *sync.Cond
	released bool
}

func (g *condGate) park() {
	g.mu.Lock()
	for !g.released {
		g.c.Wait()
	}
	g.mu.Unlock()
}

func (g *condGate) release() {
	g.mu.Lock()
	g.released = true
	g.mu.Unlock()
	g.c.Broadcast()
}

// waitGroupGate: every task waits on a WaitGroup of one; release is its Done.
type waitGroupGate struct{ wg sync.WaitGroup }

func (g *waitGroupGate) park()    { g.wg.Wait() }
func (g *waitGroupGate) release() { g.wg.Done() }

// accumulator: where each task's work(i, K) goes; sum() is read after the join.
type accumulator interface {
	add(index int, v uint64)
	sum() uint64
}

func newAccumulator(kind string, n int) accumulator {
	if kind == "slots" {
		return &slotsAcc{slots: make([]uint64, n)}
	}
	return &atomicAcc{}
}

// atomicAcc: one shared word, one atomic add per task.
type atomicAcc struct{ v atomic.Uint64 }

func (a *atomicAcc) add(_ int, v uint64) { a.v.Add(v) }
func (a *atomicAcc) sum() uint64         { return a.v.Load() }

// slotsAcc: one slot per task, written only by that task, summed after the join.
type slotsAcc struct{ slots []uint64 }

func (a *slotsAcc) add(i int, v uint64) { a.slots[i] = v }
func (a *slotsAcc) sum() uint64 {
	var s uint64
	for _, v := range a.slots {
		s += v
	}
	return s
}

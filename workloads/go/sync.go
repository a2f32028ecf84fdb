package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// The synchronisation primitives (PROTOCOL.md, "Synchronisation primitives"):
// the protocol's choice for every point (this file), and the idiomatic
// alternatives the audit (scripts/primitives_audit.py) measures against it
// (sync_alternatives.go, left out of a build tagged protocolonly: the build the
// tests compare the protocol's choice against), chosen with
// WORKLOAD_SYNC=point=choice,... Unset, every point uses the first choice.
//
// Each choice is its own type behind a small interface, picked once before the
// first task. A goroutine's stack holds only the frames it entered, so an
// interface call costs a call, never bytes per parked task (unlike an async
// state machine, which is as large as its largest branch: see the Rust workload).
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
		if !built(point, choice) {
			return nil, fmt.Errorf("WORKLOAD_SYNC: %s=%s: this build has the protocol's choice (%s) only (tag protocolonly)", point, choice, choices[0])
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

// chosen: the effective choices, set by main() once WORKLOAD_SYNC is checked (after every
// file's init has registered its choices).
var chosen syncConfig

// The choices compiled into this build: the protocol's here, the alternatives
// added by sync_alternatives.go.
var (
	joiners      = map[string]func(n int) joiner{"waitgroup": newWaitGroupJoin}
	gates        = map[string]func() gate{"close": newCloseGate}
	accumulators = map[string]func(n int) accumulator{"atomic": func(int) accumulator { return &atomicAcc{} }}
)

func built(point, choice string) bool {
	switch point {
	case "join":
		return joiners[choice] != nil
	case "release":
		return gates[choice] != nil
	default:
		return accumulators[choice] != nil
	}
}

// joiner: the spawner waits for all N tasks to finish.
type joiner interface {
	done()
	wait()
}

func newJoiner(kind string, n int) joiner { return joiners[kind](n) }

// waitGroupJoin: sync.WaitGroup, Go's own countdown (one shared counter, one waiter woken).
type waitGroupJoin struct{ wg sync.WaitGroup }

func newWaitGroupJoin(n int) joiner {
	j := &waitGroupJoin{}
	j.wg.Add(n)
	return j
}

func (j *waitGroupJoin) done() { j.wg.Done() }
func (j *waitGroupJoin) wait() { j.wg.Wait() }

// gate: live's tasks park on it; release wakes them all.
type gate interface {
	park()
	release()
}

func newGate(kind string) gate { return gates[kind]() }

// closeGate: receive from a channel that release closes (a broadcast by the releaser).
type closeGate struct{ ch chan struct{} }

func newCloseGate() gate { return &closeGate{ch: make(chan struct{})} }

func (g *closeGate) park()    { <-g.ch }
func (g *closeGate) release() { close(g.ch) }

// accumulator: where each task's work(i, K) goes; sum() is read after the join.
type accumulator interface {
	add(index int, v uint64)
	sum() uint64
}

func newAccumulator(kind string, n int) accumulator { return accumulators[kind](n) }

// atomicAcc: one shared word, one atomic add per task.
type atomicAcc struct{ v atomic.Uint64 }

func (a *atomicAcc) add(_ int, v uint64) { a.v.Add(v) }
func (a *atomicAcc) sum() uint64         { return a.v.Load() }

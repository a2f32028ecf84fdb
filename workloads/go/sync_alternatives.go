//go:build !protocolonly

package main

import (
	"sync"
	"sync/atomic"
)

// The alternatives the primitives audit measures against the protocol's choices
// (sync.go); a build tagged protocolonly leaves them out.
func init() {
	joiners["counter"] = func(n int) joiner { return &counterJoin{left: int64(n), all: make(chan struct{})} }
	joiners["channel"] = func(n int) joiner { return &channelJoin{n: n, ch: make(chan struct{}, n)} }
	gates["cond"] = func() gate {
		g := &condGate{}
		g.c = sync.NewCond(&g.mu)
		return g
	}
	gates["waitgroup"] = func() gate {
		g := &waitGroupGate{}
		g.wg.Add(1)
		return g
	}
	accumulators["slots"] = func(n int) accumulator { return &slotsAcc{slots: make([]uint64, n)} }
}

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

package main

// The shared per-task work function (PROTOCOL.md, "Work function").
// splitmix64's finaliser applied `rounds` times to the task index: cheap,
// branch-free, impossible to constant-fold across tasks, and identical in
// every language that has wrapping 64-bit arithmetic.

const golden = 0x9E3779B97F4A7C15

func mix(x uint64) uint64 {
	z := x + golden
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// work is what task `index` computes; its result is added to the checksum.
func work(index uint64, rounds uint64) uint64 {
	x := index
	for r := uint64(0); r < rounds; r++ {
		x = mix(x)
	}
	return x
}

package main

import "testing"

// Test vectors from PROTOCOL.md; every runtime checks the same numbers.
func TestWorkVectors(t *testing.T) {
	cases := []struct {
		index, rounds, want uint64
	}{
		{0, 0, 0},
		{7, 0, 7},
		{0, 1, 0xe220a8397b1dcdaf},
		{1, 1, 0x910a2dec89025cc1},
		{12345, 100, 0xd19c70d5f6532370},
	}
	for _, c := range cases {
		if got := work(c.index, c.rounds); got != c.want {
			t.Errorf("work(%d, %d) = %016x, want %016x", c.index, c.rounds, got, c.want)
		}
	}
}

func TestChecksumVector(t *testing.T) {
	var sum uint64
	for i := uint64(0); i < 1000; i++ {
		sum += work(i, 100)
	}
	if sum != 0x3a8439e46579c231 {
		t.Fatalf("checksum(N=1000, K=100) = %016x, want 3a8439e46579c231", sum)
	}
}

func TestParseArgsDefaultsAndErrors(t *testing.T) {
	o, err := parseArgs("spawn", []string{"--tasks", "10", "--workers=2"})
	if err != nil || o.tasks != 10 || o.workers != 2 || o.work != 100 {
		t.Fatalf("got %+v, %v", o, err)
	}
	bad := [][]string{
		{"--tasks", "-1"}, {"--tasks", "100000001"}, {"--bogus", "1"}, {"--tasks"}, {"--tasks", "x"}, {"tasks"},
		{"--port", "80"}, // port is not a spawn flag
	}
	for _, args := range bad {
		if _, err := parseArgs("spawn", args); err == nil {
			t.Errorf("parseArgs(spawn, %v) accepted bad input", args)
		}
	}
	if _, err := parseArgs("dance", nil); err == nil {
		t.Error("unknown subcommand accepted")
	}
	if o, err := parseArgs("live", []string{"--hold-ms", "0"}); err != nil || o.holdMs != 0 {
		t.Errorf("live --hold-ms 0: %+v %v", o, err)
	}
}

func TestNearestRank(t *testing.T) {
	s := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if nearestRank(s, 50) != 5 || nearestRank(s, 99) != 10 || nearestRank(s, 10) != 1 {
		t.Fatal("nearest rank wrong")
	}
}

package main

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

type latencySummary struct {
	Mean float64 `json:"mean"`
	P50  int64   `json:"p50"`
	P99  int64   `json:"p99"`
	Max  int64   `json:"max"`
}

// nearestRank is the protocol's percentile: the smallest value with at least
// p% of the samples at or below it.
func nearestRank(sorted []int64, p float64) int64 {
	n := len(sorted)
	rank := int((p/100.0)*float64(n) + 0.999999999)
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	return sorted[rank-1]
}

func summarise(lat []int64) latencySummary {
	slices.Sort(lat)
	var sum float64
	for _, v := range lat {
		sum += float64(v)
	}
	return latencySummary{
		Mean: sum / float64(len(lat)),
		P50:  nearestRank(lat, 50),
		P99:  nearestRank(lat, 99),
		Max:  lat[len(lat)-1],
	}
}

// procStatusBytes reads a "VmRSS"/"VmHWM" style line of /proc/self/status.
// All three runtimes read the same file so their self-reports agree in kind.
func procStatusBytes(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, field+":") {
			parts := strings.Fields(line[len(field)+1:])
			if len(parts) >= 1 {
				kib, err := strconv.ParseInt(parts[0], 10, 64)
				if err == nil {
					return kib * 1024
				}
			}
		}
	}
	return -1
}

// cpuTimes is the process's own user and system CPU time from the kernel (getrusage), in ns.
func cpuTimes() (user, system int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1, -1
	}
	return ru.Utime.Nano(), ru.Stime.Nano()
}

func cpuTimeNs() int64 {
	u, s := cpuTimes()
	return u + s
}

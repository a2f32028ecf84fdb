package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// profileEnv names a directory: when set, the whole run is CPU-profiled with
// runtime/pprof (100 samples a second) into DIR/cpu.pprof (PROTOCOL.md).
const profileEnv = "WORKLOAD_CPUPROFILE"

// startCPUProfile returns the function that ends the profile and closes its file.
func startCPUProfile() (func(), error) {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, envError{fmt.Sprintf("%s: %v", profileEnv, err)}
	}
	f, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return nil, envError{fmt.Sprintf("%s: %v", profileEnv, err)}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, envError{fmt.Sprintf("cannot start the CPU profile: %v", err)}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// settings records everything in this runtime that moves the numbers.
func settings() map[string]string {
	gcPercent := debug.SetGCPercent(-1)
	debug.SetGCPercent(gcPercent)
	memLimit := debug.SetMemoryLimit(-1)
	out := map[string]string{
		"runtime_version": runtime.Version(),
		"GOMAXPROCS":      strconv.Itoa(runtime.GOMAXPROCS(0)),
		"GOGC":            strconv.Itoa(gcPercent),
		"GOGC_env":        os.Getenv("GOGC"),
		"GOMEMLIMIT":      strconv.FormatInt(memLimit, 10),
		"GOMEMLIMIT_env":  os.Getenv("GOMEMLIMIT"),
		"GODEBUG_env":     os.Getenv("GODEBUG"),
		"GOARCH":          runtime.GOARCH,
		"compiler":        runtime.Compiler,
	}
	for point, choice := range chosen { // the synchronisation primitives used (PROTOCOL.md)
		out["sync_"+point] = choice
	}
	return out
}

// Command workload is the Go implementation of workloads/PROTOCOL.md.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
)

const protocolVersion = 3

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(argv []string) int {
	if len(argv) == 0 {
		return fail(exitUsage, "missing subcommand: use spawn, live or http")
	}
	opts, err := parseArgs(argv[0], argv[1:])
	if err != nil {
		return fail(exitUsage, err.Error())
	}
	if chosen, err = parseSync(os.Getenv("WORKLOAD_SYNC")); err != nil {
		return fail(exitUsage, err.Error())
	}
	// W worker threads: the protocol's one knob for parallelism.
	runtime.GOMAXPROCS(int(opts.workers))
	stopProfile, err := startCPUProfile(argv[0])
	if err != nil {
		return fail(exitEnvError, err.Error())
	}
	defer stopProfile()
	var result map[string]any
	switch argv[0] {
	case "spawn":
		result = runSpawn(opts)
	case "live":
		result, err = runLive(opts)
	case "http":
		result, err = runHTTP(opts)
	}
	if err != nil {
		var envErr envError
		if errors.As(err, &envErr) {
			return fail(exitEnvError, err.Error())
		}
		return fail(exitFailure, err.Error())
	}
	stopProfile() // the profile is whole before the result line says the run is over
	user, system := cpuTimes()
	result["cpu_user_ns"] = user
	result["cpu_system_ns"] = system
	result["forced_gc"] = forcedGC(opts.forceGC == 1)
	result["type"] = "result"
	result["protocol"] = protocolVersion
	result["runtime"] = "go"
	result["scenario"] = argv[0]
	result["workers"] = opts.workers
	result["settings"] = settings()
	emit(result)
	return exitOK
}

type envError struct{ msg string }

func (e envError) Error() string { return e.msg }

func fail(code int, msg string) int {
	fmt.Fprintf(os.Stderr, "workload-go: %s\n", msg)
	return code
}

// emit prints one JSON object as one line on stdout.
func emit(obj map[string]any) {
	line, _ := json.Marshal(obj)
	os.Stdout.Write(append(line, '\n'))
}

func checksumHex(sum uint64) string { return fmt.Sprintf("%016x", sum) }

// forcedGC names the collection --force-gc 1 forces here ("" when not asked).
func forcedGC(asked bool) string {
	if asked {
		return "runtime.GC()"
	}
	return ""
}

package main

import (
	"fmt"
	"strconv"
	"strings"
)

// Exit codes (PROTOCOL.md, "Exit codes").
const (
	exitOK       = 0
	exitFailure  = 1 // the run itself went wrong (e.g. live never reached N)
	exitUsage    = 2 // bad subcommand, flag or value
	exitEnvError = 3 // the environment refused (e.g. port in use)
)

// Limits shared by every runtime so that "absurd" means the same everywhere.
const (
	maxTasks   = 100_000_000
	maxWorkers = 1024
	maxWork    = 1_000_000
	maxHoldMs  = 86_400_000
	maxIters   = 1_000
)

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type options struct {
	tasks       int64
	workers     int64
	work        int64
	holdMs      int64 // live: -1 means "wait for a line on stdin"
	port        int64
	idleCheckMs int64 // http: accepted for protocol symmetry; net/http has no idle scanner
	iterations  int64 // spawn: measured rounds in this process
	warmupIters int64 // spawn: rounds before them, reported but not measured
	forceGC     int64 // spawn, live: 1 forces a full collection at the protocol's points
}

type flagSpec struct {
	target   *int64
	min, max int64
}

// parseArgs implements the protocol's tiny grammar (`--name value` or
// `--name=value`, integers only) by hand so that all three runtimes give the
// same one-line errors; a flag library would print multi-line usage.
func parseArgs(sub string, args []string) (options, error) {
	o := options{tasks: 1_000_000, workers: 1, work: 100, holdMs: -1, port: 8080, idleCheckMs: 0, iterations: 1}
	specs := map[string]flagSpec{"workers": {&o.workers, 1, maxWorkers}}
	switch sub {
	case "spawn":
		specs["tasks"] = flagSpec{&o.tasks, 1, maxTasks}
		specs["work"] = flagSpec{&o.work, 0, maxWork}
		specs["iterations"] = flagSpec{&o.iterations, 1, maxIters}
		specs["warmup-iterations"] = flagSpec{&o.warmupIters, 0, maxIters}
		specs["force-gc"] = flagSpec{&o.forceGC, 0, 1}
	case "live":
		specs["tasks"] = flagSpec{&o.tasks, 1, maxTasks}
		specs["work"] = flagSpec{&o.work, 0, maxWork}
		specs["hold-ms"] = flagSpec{&o.holdMs, 0, maxHoldMs}
		specs["force-gc"] = flagSpec{&o.forceGC, 0, 1}
	case "http":
		o.work = 0 // no work per request unless asked (a planted cost, for calibrating the gate)
		specs["work"] = flagSpec{&o.work, 0, maxWork}
		specs["port"] = flagSpec{&o.port, 0, 65535}
		specs["idle-check-ms"] = flagSpec{&o.idleCheckMs, 0, maxHoldMs}
	default:
		return o, usageError{fmt.Sprintf("unknown subcommand %q: use spawn, live or http", sub)}
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "--") {
			return o, usageError{fmt.Sprintf("unexpected argument %q: flags look like --name value", arg)}
		}
		name, value, hasValue := strings.Cut(arg[2:], "=")
		spec, ok := specs[name]
		if !ok {
			return o, usageError{fmt.Sprintf("unknown flag --%s for %s", name, sub)}
		}
		if !hasValue {
			if i+1 >= len(args) {
				return o, usageError{fmt.Sprintf("flag --%s needs a value", name)}
			}
			i++
			value = args[i]
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return o, usageError{fmt.Sprintf("flag --%s: %q is not an integer", name, value)}
		}
		if n < spec.min || n > spec.max {
			return o, usageError{fmt.Sprintf("flag --%s: %d is outside [%d, %d]", name, n, spec.min, spec.max)}
		}
		*spec.target = n
	}
	return o, nil
}

package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
)

// profileEnv names a directory: when set, the run is CPU-profiled with
// runtime/pprof (100 samples a second) into DIR/cpu.pprof (PROTOCOL.md).
const profileEnv = "WORKLOAD_CPUPROFILE"

// profileWindowEnv = "commands": an http server profiles only between the
// "profile start" and "profile stop" lines the harness writes on its stdin
// (the saturate phase), instead of its whole run.
const profileWindowEnv = "WORKLOAD_CPUPROFILE_WINDOW"

type cpuProfile struct {
	mu   sync.Mutex
	path string
	file *os.File // open while sampling
	done bool     // a window has been written: a profile covers one window
}

func (p *cpuProfile) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.file != nil || p.done {
		return nil
	}
	f, err := os.Create(p.path)
	if err != nil {
		return envError{fmt.Sprintf("%s: %v", profileEnv, err)}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return envError{fmt.Sprintf("cannot start the CPU profile: %v", err)}
	}
	p.file = f
	return nil
}

func (p *cpuProfile) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.file == nil {
		return
	}
	pprof.StopCPUProfile()
	p.file.Close()
	p.file, p.done = nil, true
}

// startCPUProfile returns the function that ends the profile and closes its file.
func startCPUProfile(subcommand string) (func(), error) {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return func() {}, nil
	}
	window := os.Getenv(profileWindowEnv)
	if window != "" && window != "commands" {
		return nil, envError{fmt.Sprintf("%s=%q: use \"commands\" or leave it unset", profileWindowEnv, window)}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, envError{fmt.Sprintf("%s: %v", profileEnv, err)}
	}
	p := &cpuProfile{path: filepath.Join(dir, "cpu.pprof")}
	if window == "commands" && subcommand == "http" {
		go profileCommands(p)
		return p.stop, nil
	}
	if err := p.start(); err != nil {
		return nil, err
	}
	return p.stop, nil
}

// profileCommands obeys "profile start" / "profile stop" lines on stdin and
// acknowledges each once it has taken effect (the harness waits for that).
func profileCommands(p *cpuProfile) {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch strings.TrimSpace(in.Text()) {
		case "profile start":
			if err := p.start(); err != nil {
				fmt.Fprintf(os.Stderr, "workload-go: %v\n", err)
				os.Exit(exitEnvError)
			}
			emit(map[string]any{"type": "profile", "state": "started"})
		case "profile stop":
			p.stop()
			emit(map[string]any{"type": "profile", "state": "stopped"})
		}
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

const helloBody = "Hello, World!"

// runHTTP serves GET / with net/http until SIGTERM or SIGINT.
// IdleTimeout, ReadTimeout and ReadHeaderTimeout are all zero: net/http then
// never closes an idle keep-alive connection.
func runHTTP(o options) (map[string]any, error) {
	var served atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			http.NotFound(w, r)
			return
		}
		n := served.Add(1)
		h := w.Header()
		if o.work > 0 && work(uint64(n), uint64(o.work)) == 0 { // never true: the work cannot be dropped
			h.Set("X-Work", "0")
		}
		h.Set("Server", "go-net/http")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(helloBody)))
		w.Write([]byte(helloBody))
	})
	server := &http.Server{Handler: mux, IdleTimeout: 0, ReadTimeout: 0, ReadHeaderTimeout: 0, WriteTimeout: 0}

	host := listenAddress()
	listener, err := net.Listen("tcp", net.JoinHostPort(host, strconv.FormatInt(o.port, 10)))
	if err != nil {
		return nil, envError{fmt.Sprintf("cannot listen on port %d of %s: %v", o.port, host, errors.Unwrap(err))}
	}
	port := listener.Addr().(*net.TCPAddr).Port

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()

	emit(map[string]any{"type": "ready", "runtime": "go", "port": port, "settings": settings()})
	started := time.Now()
	select {
	case <-stop:
	case err := <-serveErr:
		return nil, fmt.Errorf("server stopped: %v", err)
	}
	// Idle keep-alive connections are closed at once; busy ones get 5 s.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	server.Shutdown(ctx)
	return map[string]any{
		"port":            port,
		"requests_served": served.Load(),
		"uptime_ns":       time.Since(started).Nanoseconds(),
		"peak_rss_bytes":  procStatusBytes("VmHWM"),
	}, nil
}

// listenAddress is where the server listens: loopback unless WORKLOAD_LISTEN names an address that
// load generators on other hosts reach (PROTOCOL.md).
func listenAddress() string {
	if host := os.Getenv("WORKLOAD_LISTEN"); host != "" {
		return host
	}
	return "127.0.0.1"
}

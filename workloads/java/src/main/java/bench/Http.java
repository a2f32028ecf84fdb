package bench;

import io.helidon.common.socket.SocketOptions;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import sun.misc.Signal;

/**
 * Helidon SE 4 WebServer: one virtual thread per connection, blocking I/O.
 * Helidon closes connections idle for 5 minutes (scanned every 2) and sets a
 * 30 s socket read timeout by default; both are raised to a day here so a
 * 10-minute keep-alive test keeps every connection.
 */
final class Http {
    static final Duration NEVER_DURING_A_TEST = Duration.ofDays(1);
    private static final String HELLO = "Hello, World!";

    private Http() {}

    static Json run(int port, long idleCheckMs, long work) throws Workload.EnvError, InterruptedException {
        AtomicLong served = new AtomicLong();
        CountDownLatch stop = new CountDownLatch(1);
        WebServerConfig.Builder config = WebServer.builder()
                .host(listenAddress())
                .port(port)
                .idleConnectionTimeout(NEVER_DURING_A_TEST)
                .connectionOptions(SocketOptions.builder()
                        .readTimeout(NEVER_DURING_A_TEST)
                        .tcpNoDelay(true)
                        .build())
                .routing(routing -> routing.get("/", (req, res) -> {
                    long n = served.incrementAndGet();
                    if (work > 0 && Work.work(n, work) == 0) { // never true: the work cannot be dropped
                        res.header("X-Work", "0");
                    }
                    res.header(HeaderNames.SERVER, "helidon");
                    res.header(HeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
                    res.send(HELLO);
                }));
        if (idleCheckMs > 0) {
            config.idleConnectionPeriod(Duration.ofMillis(idleCheckMs));
        }
        checkPortFree(port);
        WebServer server;
        try {
            server = config.build().start();
        } catch (RuntimeException e) {
            throw new Workload.EnvError("cannot listen on port " + port + " of " + listenAddress() + ": " + rootMessage(e));
        }
        if (!server.isRunning() || server.port() < 0) {
            throw new Workload.EnvError(
                    "cannot listen on port " + port + " of " + listenAddress() + ": Helidon did not start (see its log above)");
        }
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        int bound = server.port();
        Workload.emit(new Json()
                .put("type", "ready")
                .put("runtime", "java")
                .put("port", bound)
                .put("settings", Workload.settings()));
        long started = System.nanoTime();
        stop.await();
        server.stop();
        return new Json()
                .put("port", bound)
                .put("requests_served", served.get())
                .put("uptime_ns", System.nanoTime() - started)
                .put("peak_rss_bytes", Stats.procStatusBytes("VmHWM"));
    }

    /**
     * Helidon logs a failed bind as a multi-line SEVERE record and returns a
     * server on port -1; binding once ourselves first gives the protocol's
     * one-line error for the common case (port in use).
     */
    private static void checkPortFree(int port) throws Workload.EnvError {
        if (port == 0) return;
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(listenAddress(), port));
        } catch (IOException e) {
            throw new Workload.EnvError("cannot listen on port " + port + " of " + listenAddress() + ": " + e.getMessage());
        }
    }

    /** Loopback unless WORKLOAD_LISTEN names an address that load generators on other hosts reach. */
    static String listenAddress() {
        String host = System.getenv("WORKLOAD_LISTEN");
        return host == null || host.isEmpty() ? "127.0.0.1" : host;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) t = t.getCause();
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}

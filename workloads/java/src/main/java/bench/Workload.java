package bench;

import java.io.IOException;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** The Java virtual-thread implementation of workloads/PROTOCOL.md. */
public final class Workload {
    static final int PROTOCOL_VERSION = 3;
    // Exit codes (PROTOCOL.md, "Exit codes").
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_ENV = 3;

    private static final PrintStream OUT = new PrintStream(
            new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

    static final class EnvError extends Exception {
        EnvError(String message) {
            super(message);
        }
    }

    private Workload() {}

    public static void main(String[] argv) {
        // Library log records (Helidon's) as one line each on stderr, no stack traces.
        System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s %3$s: %5$s%n");
        System.exit(run(argv));
    }

    static int run(String[] argv) {
        Args a;
        try {
            a = Args.parse(Arrays.asList(argv));
            checkParallelism(a.workers);
            Sync.parse(System.getenv("WORKLOAD_SYNC"));
        } catch (Args.UsageError e) {
            return fail(EXIT_USAGE, e.getMessage());
        }
        Profile profile;
        try {
            profile = Profile.start(a.sub.equals("http"));
        } catch (IOException | RuntimeException e) {
            return fail(EXIT_ENV, "cannot start the CPU profile: " + e);
        }
        Json result;
        try {
            result = switch (a.sub) {
                case "spawn" -> Spawn.run((int) a.tasks, a.work, a.warmupIterations, a.iterations, a.forceGc == 1);
                case "live" -> Live.run((int) a.tasks, a.work, a.holdMs, a.forceGc == 1);
                case "http" -> Http.run((int) a.port, a.idleCheckMs, a.work);
                default -> throw new IllegalStateException(a.sub);
            };
        } catch (EnvError e) {
            return fail(EXIT_ENV, e.getMessage());
        } catch (Exception e) {
            return fail(EXIT_FAILURE, e.toString());
        } catch (OutOfMemoryError e) {
            return fail(EXIT_FAILURE, "out of memory: raise -Xmx or lower --tasks");
        }
        if (profile != null) {
            try {
                profile.finish(); // whole before the result line says the run is over
            } catch (IOException | RuntimeException e) {
                return fail(EXIT_ENV, "cannot write the CPU profile: " + e);
            }
        }
        long[] cpu = Stats.cpuTimes();
        emit(result.put("cpu_user_ns", cpu[0])
                .put("cpu_system_ns", cpu[1])
                .put("forced_gc", a.forceGc == 1 ? "System.gc()" : "")
                .put("type", "result")
                .put("protocol", PROTOCOL_VERSION)
                .put("runtime", "java")
                .put("scenario", a.sub)
                .put("workers", a.workers)
                .put("settings", settings()));
        return 0;
    }

    /**
     * W must reach the virtual-thread scheduler before its first use, which
     * only a JVM flag guarantees; refuse to run with a different value rather
     * than silently measure with the default (one carrier per CPU).
     */
    static void checkParallelism(long workers) throws Args.UsageError {
        String set = System.getProperty(Settings.PARALLELISM);
        if (set == null || !set.equals(Long.toString(workers))) {
            throw new Args.UsageError("--workers " + workers + " needs the JVM flag -D" + Settings.PARALLELISM
                    + "=" + workers + " (got " + (set == null ? "none" : set) + ")");
        }
    }

    static Json settings() {
        return Settings.collect();
    }

    static synchronized void emit(Json line) {
        OUT.println(line);
        OUT.flush();
    }

    private static int fail(int code, String message) {
        System.err.println("workload-java: " + message);
        return code;
    }
}

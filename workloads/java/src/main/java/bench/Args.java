package bench;

import java.util.List;

/**
 * The protocol's flag grammar ({@code --name value} or {@code --name=value},
 * integers only), parsed by hand so that all three runtimes print the same
 * one-line errors.
 */
public final class Args {
    public static final long MAX_TASKS = 100_000_000L;
    public static final long MAX_WORKERS = 1024;
    public static final long MAX_WORK = 1_000_000L;
    public static final long MAX_HOLD_MS = 86_400_000L;
    public static final long MAX_ITERATIONS = 1_000L;

    public static final class UsageError extends Exception {
        public UsageError(String message) {
            super(message);
        }
    }

    public String sub;
    public long tasks = 1_000_000L;
    public long workers = 1;
    public long work = 100;
    /** live: -1 means "wait for a line on stdin". */
    public long holdMs = -1;
    public long port = 8080;
    /** http: Helidon's idle-connection scan period; 0 keeps Helidon's default. */
    public long idleCheckMs = 0;
    /** spawn: measured rounds in this process, and warm-up rounds before them. */
    public long iterations = 1;
    public long warmupIterations = 0;
    /** spawn, live: 1 forces a full collection (System.gc()) at the protocol's points. */
    public long forceGc = 0;

    public static Args parse(List<String> argv) throws UsageError {
        Args a = new Args();
        if (argv.isEmpty()) {
            throw new UsageError("missing subcommand: use spawn, live or http");
        }
        a.sub = argv.get(0);
        if (!List.of("spawn", "live", "http").contains(a.sub)) {
            throw new UsageError("unknown subcommand \"" + a.sub + "\": use spawn, live or http");
        }
        if (a.sub.equals("http")) {
            a.work = 0; // no work per request unless asked (a planted cost, for calibrating the gate)
        }
        for (int i = 1; i < argv.size(); i++) {
            String arg = argv.get(i);
            if (!arg.startsWith("--")) {
                throw new UsageError("unexpected argument \"" + arg + "\": flags look like --name value");
            }
            String body = arg.substring(2);
            String name = body;
            String value = null;
            int eq = body.indexOf('=');
            if (eq >= 0) {
                name = body.substring(0, eq);
                value = body.substring(eq + 1);
            }
            long[] range = range(a.sub, name);
            if (value == null) {
                if (i + 1 >= argv.size()) {
                    throw new UsageError("flag --" + name + " needs a value");
                }
                value = argv.get(++i);
            }
            long n;
            try {
                n = Long.parseLong(value);
            } catch (NumberFormatException e) {
                throw new UsageError("flag --" + name + ": \"" + value + "\" is not an integer");
            }
            if (n < range[0] || n > range[1]) {
                throw new UsageError("flag --" + name + ": " + n + " is outside [" + range[0] + ", " + range[1] + "]");
            }
            switch (name) {
                case "workers" -> a.workers = n;
                case "tasks" -> a.tasks = n;
                case "work" -> a.work = n;
                case "hold-ms" -> a.holdMs = n;
                case "port" -> a.port = n;
                case "idle-check-ms" -> a.idleCheckMs = n;
                case "iterations" -> a.iterations = n;
                case "warmup-iterations" -> a.warmupIterations = n;
                case "force-gc" -> a.forceGc = n;
                default -> throw new IllegalStateException(name);
            }
        }
        return a;
    }

    private static long[] range(String sub, String name) throws UsageError {
        boolean tasksLike = sub.equals("spawn") || sub.equals("live");
        if (name.equals("workers")) return new long[] {1, MAX_WORKERS};
        if (tasksLike && name.equals("tasks")) return new long[] {1, MAX_TASKS};
        if (name.equals("work")) return new long[] {0, MAX_WORK};
        if (sub.equals("live") && name.equals("hold-ms")) return new long[] {0, MAX_HOLD_MS};
        if (sub.equals("http") && name.equals("port")) return new long[] {0, 65535};
        if (sub.equals("http") && name.equals("idle-check-ms")) return new long[] {0, MAX_HOLD_MS};
        if (sub.equals("spawn") && name.equals("iterations")) return new long[] {1, MAX_ITERATIONS};
        if (sub.equals("spawn") && name.equals("warmup-iterations")) return new long[] {0, MAX_ITERATIONS};
        if (tasksLike && name.equals("force-gc")) return new long[] {0, 1};
        throw new UsageError("unknown flag --" + name + " for " + sub);
    }
}

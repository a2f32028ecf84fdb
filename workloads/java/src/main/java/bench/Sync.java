package bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;

/**
 * The synchronisation primitives (PROTOCOL.md, "Synchronisation primitives"):
 * the protocol's choice for every point (here), and the idiomatic alternatives
 * the audit (scripts/primitives_audit.py) measures against it
 * ({@link SyncAlternatives}, left out of a build with
 * -Dworkload.sync.exclude=bench/SyncAlternatives.java: the build the tests
 * compare the protocol's choice against), chosen with
 * WORKLOAD_SYNC=point=choice,... Unset, every point uses the first choice.
 *
 * <p>Each choice is its own class behind a small interface, picked once before
 * the first task. A parked virtual thread's stack holds only the frames it
 * entered, so an interface call costs a call, never bytes per parked task.
 */
final class Sync {
    static final Map<String, List<String>> CHOICES = new LinkedHashMap<>();

    static {
        CHOICES.put("accumulate", List.of("atomic", "adder", "slots")); // spawn, live: the checksum
        CHOICES.put("join", List.of("latch", "counter", "executor")); // spawn: wait for all N tasks
        CHOICES.put("release", List.of("unpark", "latch", "condition", "monitor")); // live: wake every parked task
    }

    /** The choices compiled into this build: the protocol's here, the alternatives where they were built. */
    static final Map<String, Map<String, Object>> BUILT = new LinkedHashMap<>();

    static final Map<String, IntFunction<Accumulator>> ACCUMULATORS = new LinkedHashMap<>();
    static final Map<String, IntFunction<Joiner>> JOINERS = new LinkedHashMap<>();
    static final Map<String, IntFunction<Gate>> GATES = new LinkedHashMap<>();

    static {
        ACCUMULATORS.put("atomic", n -> { // one shared word, one atomic add per task
            AtomicLong a = new AtomicLong();
            return new Accumulator() {
                public void add(int index, long v) { a.addAndGet(v); }
                public long sum() { return a.get(); }
            };
        });
        JOINERS.put("latch", n -> { // CountDownLatch(N): one shared countdown, the one waiter released once
            Thread.Builder.OfVirtual builder = Thread.ofVirtual();
            CountDownLatch latch = new CountDownLatch(n);
            return new Joiner() {
                public void start(Runnable task) { builder.start(task); }
                public void done() { latch.countDown(); }
                public void await() throws InterruptedException { latch.await(); }
                public boolean finished() { return latch.getCount() == 0; }
            };
        });
        GATES.put("unpark", n -> { // every parked thread unparked by the releaser: a broadcast, as Go's close and tokio's Notify
            Thread[] parked = new Thread[n];
            return new Gate() {
                volatile boolean released;
                public void register(int index) { parked[index] = Thread.currentThread(); }
                public void park() {
                    while (!released) LockSupport.park(this);
                }
                public void release() {
                    released = true;
                    for (Thread t : parked) LockSupport.unpark(t);
                }
            };
        });
        try { // the alternatives register themselves where they were compiled in
            Class.forName("bench.SyncAlternatives").getDeclaredMethod("register").invoke(null);
        } catch (ClassNotFoundException e) {
            // a protocol-only build
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        BUILT.put("accumulate", new LinkedHashMap<>(ACCUMULATORS));
        BUILT.put("join", new LinkedHashMap<>(JOINERS));
        BUILT.put("release", new LinkedHashMap<>(GATES));
    }

    private Sync() {}

    static Map<String, String> parse(String text) throws Args.UsageError {
        Map<String, String> cfg = new LinkedHashMap<>();
        CHOICES.forEach((point, choices) -> cfg.put(point, choices.get(0)));
        for (String raw : (text == null ? "" : text).split(",")) {
            String item = raw.trim();
            if (item.isEmpty()) continue;
            int eq = item.indexOf('=');
            String point = eq < 0 ? item : item.substring(0, eq);
            if (eq < 0 || !CHOICES.containsKey(point)) {
                throw new Args.UsageError("WORKLOAD_SYNC: \"" + item + "\" is not point=choice with a point of "
                        + String.join(", ", CHOICES.keySet()));
            }
            String choice = item.substring(eq + 1);
            if (!CHOICES.get(point).contains(choice)) {
                throw new Args.UsageError("WORKLOAD_SYNC: " + point + "=" + choice + ": choose one of "
                        + String.join(", ", CHOICES.get(point)));
            }
            if (!BUILT.get(point).containsKey(choice)) {
                throw new Args.UsageError("WORKLOAD_SYNC: " + point + "=" + choice + ": this build has the protocol's choice ("
                        + CHOICES.get(point).get(0) + ") only (built with workload.sync.exclude)");
            }
            cfg.put(point, choice);
        }
        return cfg;
    }

    /** The effective choices (checked at start: exit 2 if bad). */
    static Map<String, String> chosen() {
        try {
            return parse(System.getenv("WORKLOAD_SYNC"));
        } catch (Args.UsageError e) {
            throw new IllegalStateException(e);
        }
    }

    /** Where each task's work(i, K) goes; sum() is read after the join. */
    interface Accumulator {
        void add(int index, long v);

        long sum();
    }

    static Accumulator accumulator(String kind, int n) {
        return ACCUMULATORS.get(kind).apply(n);
    }

    /** The spawner starts N tasks through it and waits for all of them. */
    interface Joiner {
        void start(Runnable task);

        void done();

        void await() throws InterruptedException;

        boolean finished();
    }

    static Joiner joiner(String kind, int n) {
        return JOINERS.get(kind).apply(n);
    }

    /** live's tasks park on it after registering; release wakes them all. */
    interface Gate {
        void register(int index);

        void park() throws InterruptedException;

        void release();
    }

    static Gate gate(String kind, int n) {
        return GATES.get(kind).apply(n);
    }
}

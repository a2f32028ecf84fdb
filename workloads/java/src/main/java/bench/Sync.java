package bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The synchronisation primitives (PROTOCOL.md, "Synchronisation primitives"):
 * the protocol's choice for every point, and the idiomatic alternatives the
 * audit (scripts/primitives_audit.py) measures against it, chosen with
 * WORKLOAD_SYNC=point=choice,... Unset, every point uses the first choice.
 */
final class Sync {
    static final Map<String, List<String>> CHOICES = new LinkedHashMap<>();

    static {
        CHOICES.put("accumulate", List.of("atomic", "adder", "slots")); // spawn, live: the checksum
        CHOICES.put("join", List.of("latch", "counter", "executor")); // spawn: wait for all N tasks
        CHOICES.put("release", List.of("unpark", "latch", "condition", "monitor")); // live: wake every parked task
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
        switch (kind) {
            case "adder": { // java.util.concurrent's striped counter for contended sums
                LongAdder a = new LongAdder();
                return new Accumulator() {
                    public void add(int index, long v) { a.add(v); }
                    public long sum() { return a.sum(); }
                };
            }
            case "slots": { // one slot per task, written only by that task, summed after the join
                long[] slots = new long[n];
                return new Accumulator() {
                    public void add(int index, long v) { slots[index] = v; }
                    public long sum() {
                        long s = 0;
                        for (long v : slots) s += v;
                        return s;
                    }
                };
            }
            default: { // one shared word, one atomic add per task
                AtomicLong a = new AtomicLong();
                return new Accumulator() {
                    public void add(int index, long v) { a.addAndGet(v); }
                    public long sum() { return a.get(); }
                };
            }
        }
    }

    /** The spawner starts N tasks through it and waits for all of them. */
    interface Joiner {
        void start(Runnable task);

        void done();

        void await() throws InterruptedException;

        boolean finished();
    }

    static Joiner joiner(String kind, int n) {
        Thread.Builder.OfVirtual builder = Thread.ofVirtual();
        switch (kind) {
            case "counter": { // an atomic countdown whose last decrement unparks the one waiter
                AtomicInteger left = new AtomicInteger(n);
                AtomicReference<Thread> waiter = new AtomicReference<>();
                return new Joiner() {
                    public void start(Runnable task) { builder.start(task); }
                    public void done() {
                        if (left.decrementAndGet() == 0) LockSupport.unpark(waiter.get());
                    }
                    public void await() { // the waiter is published before it looks: the last task sees it
                        waiter.set(Thread.currentThread());
                        while (left.get() != 0) LockSupport.park(this);
                    }
                    public boolean finished() { return left.get() == 0; }
                };
            }
            case "executor": { // the JDK's idiom: a virtual thread per task, close() waits for all
                ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
                AtomicInteger left = new AtomicInteger(n);
                return new Joiner() {
                    public void start(Runnable task) { ex.execute(task); }
                    public void done() { left.decrementAndGet(); }
                    public void await() { ex.close(); }
                    public boolean finished() { return left.get() == 0; }
                };
            }
            default: { // CountDownLatch(N): one shared countdown, the one waiter released once
                CountDownLatch latch = new CountDownLatch(n);
                return new Joiner() {
                    public void start(Runnable task) { builder.start(task); }
                    public void done() { latch.countDown(); }
                    public void await() throws InterruptedException { latch.await(); }
                    public boolean finished() { return latch.getCount() == 0; }
                };
            }
        }
    }

    /** live's tasks park on it after registering; release wakes them all. */
    interface Gate {
        void register(int index);

        void park() throws InterruptedException;

        void release();
    }

    static Gate gate(String kind, int n) {
        switch (kind) {
            case "latch": { // CountDownLatch(1): its shared release wakes the waiters as a chain
                CountDownLatch latch = new CountDownLatch(1);
                return new Gate() {
                    public void register(int index) {}
                    public void park() throws InterruptedException { latch.await(); }
                    public void release() { latch.countDown(); }
                };
            }
            case "condition": { // ReentrantLock + Condition.signalAll: every waiter re-acquires the lock
                ReentrantLock lock = new ReentrantLock();
                Condition open = lock.newCondition();
                boolean[] released = new boolean[1];
                return new Gate() {
                    public void register(int index) {}
                    public void park() throws InterruptedException {
                        lock.lock();
                        try {
                            while (!released[0]) open.await();
                        } finally {
                            lock.unlock();
                        }
                    }
                    public void release() {
                        lock.lock();
                        try {
                            released[0] = true;
                            open.signalAll();
                        } finally {
                            lock.unlock();
                        }
                    }
                };
            }
            case "monitor": { // synchronized + wait/notifyAll (no pinning since JDK 24, JEP 491)
                Object monitor = new Object();
                boolean[] released = new boolean[1];
                return new Gate() {
                    public void register(int index) {}
                    public void park() throws InterruptedException {
                        synchronized (monitor) {
                            while (!released[0]) monitor.wait();
                        }
                    }
                    public void release() {
                        synchronized (monitor) {
                            released[0] = true;
                            monitor.notifyAll();
                        }
                    }
                };
            }
            default: { // every parked thread unparked by the releaser: a broadcast, as Go's close and tokio's Notify
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
            }
        }
    }
}

package bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Holds N virtual threads parked at the same time, each with LockSupport.park
 * after registering itself; the releaser unparks every one (a broadcast, as
 * Go's close and tokio's notify_waiters). A parked virtual thread is unmounted
 * from its carrier (its stack moves to the heap), which is exactly the memory
 * this scenario measures. No timers.
 */
final class Live {
    private Live() {}

    static Json run(int tasks, long rounds, long holdMs, boolean forceGc) throws InterruptedException {
        AtomicLong alive = new AtomicLong();
        AtomicLong maxAlive = new AtomicLong();
        AtomicLong released = new AtomicLong();
        Map<String, String> primitives = Sync.chosen();
        Sync.Accumulator checksum = Sync.accumulator(primitives.get("accumulate"), tasks);
        Sync.Gate gate = Sync.gate(primitives.get("release"), tasks);
        CountDownLatch plateau = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(tasks);

        long heapBaseline = 0;
        if (forceGc) {
            System.gc(); // the baseline is read from a collected heap
            heapBaseline = heapUsed();
        }
        long baseline = Stats.procStatusBytes("VmRSS");
        long origin = System.nanoTime();
        Thread.ofVirtual().start(() -> {
            Thread.Builder.OfVirtual builder = Thread.ofVirtual();
            for (int i = 0; i < tasks; i++) {
                final int index = i;
                builder.start(() -> {
                    gate.register(index); // before counting: at the plateau every thread can be released
                    long now = alive.incrementAndGet();
                    if (now == tasks) {
                        maxAlive.set(now);
                        plateau.countDown();
                    }
                    try {
                        gate.park();
                    } catch (InterruptedException e) {
                        return;
                    }
                    released.incrementAndGet();
                    checksum.add(index, Work.work(index, rounds));
                    alive.decrementAndGet();
                    done.countDown();
                });
            }
        });
        plateau.await();
        long toPlateau = System.nanoTime() - origin;
        long heapPlateau = 0;
        if (forceGc) {
            System.gc(); // and so is the plateau: what remains is the tasks'
            heapPlateau = heapUsed();
        }
        long plateauRss = Stats.procStatusBytes("VmRSS");
        Workload.emit(new Json()
                .put("type", "plateau")
                .put("alive", maxAlive.get())
                .put("time_to_plateau_ns", toPlateau)
                .put("rss_bytes", plateauRss));

        waitForRelease(holdMs);
        long releaseStart = System.nanoTime();
        gate.release();
        done.await();
        long releaseNs = System.nanoTime() - releaseStart;
        if (released.get() != tasks) {
            throw new IllegalStateException("live: " + released.get() + " of " + tasks + " tasks were released");
        }
        Json out = new Json();
        if (forceGc) { // the collector's own account: a parked virtual thread's stack is a heap object
            out.put("heap_bytes_per_task", (heapPlateau - heapBaseline) / (double) tasks);
        }
        return out
                .put("tasks", tasks)
                .put("work", rounds)
                .put("alive_max", maxAlive.get())
                .put("completed", released.get())
                .put("checksum", Work.hex(checksum.sum()))
                .put("time_to_plateau_ns", toPlateau)
                .put("release_ns", releaseNs)
                .put("baseline_rss_bytes", baseline)
                .put("plateau_rss_bytes", plateauRss)
                .put("bytes_per_task", (plateauRss - baseline) / (double) tasks)
                .put("peak_rss_bytes", Stats.procStatusBytes("VmHWM"));
    }

    /** Bytes the heap's live objects take (after a full collection: what the tasks hold). */
    private static long heapUsed() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    /** Holds the plateau for holdMs, or (holdMs < 0) until a line or EOF on stdin. */
    static void waitForRelease(long holdMs) throws InterruptedException {
        if (holdMs >= 0) {
            Thread.sleep(holdMs);
            return;
        }
        try {
            new BufferedReader(new InputStreamReader(System.in)).readLine();
        } catch (IOException e) {
            // A closed stdin releases as EOF does.
        }
    }
}

package bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Warm-up rounds then measured rounds in this one process (as JMH does), each
 * starting N virtual threads with their own {@code Thread.ofVirtual().start},
 * each doing {@code rounds} of work, each round reported as it ends. The
 * spawner is itself a virtual thread so it competes for the same W carriers as
 * the tasks, as in Go and Rust.
 */
final class Spawn {
    private Spawn() {}

    static Json run(int tasks, long rounds, long warmup, long measured, boolean forceGc) throws InterruptedException {
        Map<String, String> primitives = Sync.chosen();
        List<Json> iterations = new ArrayList<>();
        Json last = null;
        for (long i = 0; i < warmup + measured; i++) {
            boolean isWarmup = i < warmup;
            if (!isWarmup && forceGc) {
                System.gc(); // each measured round starts from a collected heap
            }
            last = round(tasks, rounds, primitives).put("type", "iteration").put("index", i).put("warmup", isWarmup);
            Workload.emit(last);
            iterations.add(last);
        }
        Json result = new Json().put("iterations", iterations).put("peak_rss_bytes", Stats.procStatusBytes("VmHWM"));
        for (String k : new String[] {"tasks", "work", "checksum", "total_ns", "spawn_ns", "tasks_per_sec", "latency_ns"}) {
            result.put(k, last.get(k));
        }
        return result;
    }

    private static Json round(int tasks, long rounds, Map<String, String> primitives) throws InterruptedException {
        long[] latency = new long[tasks]; // one slot per task, written only by that task
        Sync.Accumulator checksum = Sync.accumulator(primitives.get("accumulate"), tasks);
        Sync.Joiner done = Sync.joiner(primitives.get("join"), tasks);
        long[] times = new long[2]; // spawn_ns, total_ns

        long cpuBefore = Stats.cpuTimeNs(); // like the clock, after the protocol's allocation
        Thread spawner = Thread.ofVirtual().start(() -> {
            long origin = System.nanoTime();
            for (int i = 0; i < tasks; i++) {
                final int index = i;
                final long spawnedAt = System.nanoTime() - origin;
                done.start(() -> {
                    latency[index] = System.nanoTime() - origin - spawnedAt;
                    checksum.add(index, Work.work(index, rounds));
                    done.done();
                });
            }
            times[0] = System.nanoTime() - origin;
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            times[1] = System.nanoTime() - origin;
        });
        spawner.join();
        long cpuNs = Stats.cpuTimeNs() - cpuBefore;
        if (!done.finished()) {
            throw new IllegalStateException("spawner interrupted before all tasks finished");
        }
        return new Json()
                .put("tasks", tasks)
                .put("work", rounds)
                .put("checksum", Work.hex(checksum.sum()))
                .put("total_ns", times[1])
                .put("spawn_ns", times[0])
                .put("tasks_per_sec", tasks / (times[1] / 1e9))
                .put("latency_ns", Stats.summarise(latency))
                .put("cpu_ns", cpuNs);
    }
}

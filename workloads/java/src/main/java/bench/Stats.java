package bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

final class Stats {
    private Stats() {}

    /** Nearest-rank percentile: the smallest value with at least p% at or below it. */
    static long nearestRank(long[] sorted, double p) {
        int n = sorted.length;
        int rank = (int) ((p / 100.0) * n + 0.999_999_999);
        rank = Math.max(1, Math.min(n, rank));
        return sorted[rank - 1];
    }

    static Json summarise(long[] latency) {
        Arrays.sort(latency);
        double sum = 0;
        for (long v : latency) sum += v;
        return new Json()
                .put("mean", sum / latency.length)
                .put("p50", nearestRank(latency, 50))
                .put("p99", nearestRank(latency, 99))
                .put("max", latency[latency.length - 1]);
    }

    /**
     * The process's CPU time (user + system) from the kernel, in ns: the sum over its threads of
     * /proc/self/task/N/schedstat (nanoseconds; the JVM's own process CPU time comes in 10 ms steps
     * here, too coarse for a round of a small spawn). Threads that ended are not counted; a
     * round's threads (carriers, GC, JIT) outlive it.
     */
    static long cpuTimeNs() {
        try (var tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            long sum = 0;
            for (Path task : tasks) {
                try {
                    sum += Long.parseLong(Files.readString(task.resolve("schedstat")).split(" ")[0]);
                } catch (IOException | RuntimeException e) {
                    // a thread that ended while we read
                }
            }
            if (sum > 0) return sum;
        } catch (IOException | RuntimeException e) {
            // no schedstat: the JVM's own account below
        }
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime();
        }
        long[] us = cpuTimes();
        return us[0] + us[1];
    }

    /**
     * User and system CPU time of the process in ns, from /proc/self/stat (clock ticks: the JVM
     * has no portable API for the split), or -1 each if unreadable.
     */
    static long[] cpuTimes() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long tickNs = 1_000_000_000L / 100; // USER_HZ is 100 on Linux
            return new long[] {Long.parseLong(f[11]) * tickNs, Long.parseLong(f[12]) * tickNs};
        } catch (IOException | RuntimeException e) {
            return new long[] {-1, -1};
        }
    }

    /** A "VmRSS"/"VmHWM" line of /proc/self/status in bytes, or -1. */
    static long procStatusBytes(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) {
                    String[] parts = line.substring(field.length() + 1).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}

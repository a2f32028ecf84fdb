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

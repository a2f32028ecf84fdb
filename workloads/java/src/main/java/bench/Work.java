package bench;

/** The shared per-task work function (PROTOCOL.md, "Work function"). */
public final class Work {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private Work() {}

    /** splitmix64's finaliser: wrapping 64-bit arithmetic, logical shifts. */
    public static long mix(long x) {
        long z = x + GOLDEN;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** What task {@code index} computes; added (wrapping) to the checksum. */
    public static long work(long index, long rounds) {
        long x = index;
        for (long r = 0; r < rounds; r++) {
            x = mix(x);
        }
        return x;
    }

    public static String hex(long checksum) {
        return String.format("%016x", checksum);
    }
}

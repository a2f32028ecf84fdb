package bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Test vectors from PROTOCOL.md; every runtime checks the same numbers. */
class WorkTest {
    @Test
    void workVectorsMatchProtocol() {
        assertEquals(0L, Work.work(0, 0));
        assertEquals(7L, Work.work(7, 0));
        assertEquals(0xe220a8397b1dcdafL, Work.work(0, 1));
        assertEquals(0x910a2dec89025cc1L, Work.work(1, 1));
        assertEquals(0xd19c70d5f6532370L, Work.work(12345, 100));
    }

    @Test
    void checksumVectorMatchesProtocol() {
        long sum = 0;
        for (long i = 0; i < 1000; i++) sum += Work.work(i, 100);
        assertEquals("3a8439e46579c231", Work.hex(sum));
    }

    @Test
    void nearestRank() {
        long[] s = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertEquals(5, Stats.nearestRank(s, 50));
        assertEquals(10, Stats.nearestRank(s, 99));
        assertEquals(1, Stats.nearestRank(s, 10));
    }

    @Test
    void argsDefaultsAndBothForms() throws Exception {
        Args a = Args.parse(List.of("spawn", "--tasks", "10", "--workers=2"));
        assertEquals(10, a.tasks);
        assertEquals(2, a.workers);
        assertEquals(100, a.work);
        assertEquals(0, Args.parse(List.of("live", "--hold-ms", "0")).holdMs);
    }

    @Test
    void argsRejectBadInput() {
        List<List<String>> bad = List.of(
                List.of("spawn", "--tasks", "-1"),
                List.of("spawn", "--tasks", "100000001"),
                List.of("spawn", "--bogus", "1"),
                List.of("spawn", "--tasks"),
                List.of("spawn", "--tasks", "x"),
                List.of("spawn", "tasks"),
                List.of("spawn", "--port", "80"),
                List.of("dance"),
                List.of());
        for (List<String> argv : bad) {
            assertThrows(Args.UsageError.class, () -> Args.parse(argv), argv.toString());
        }
    }

    @Test
    void jsonEscapesHostileStrings() {
        assertEquals("{\"k\":\"a\\\"b\\\\c\\n\"}", new Json().put("k", "a\"b\\c\n").toString());
    }
}

package bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Pattern;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * CPU profile on demand (PROTOCOL.md): with WORKLOAD_CPUPROFILE=DIR, Java
 * Flight Recorder samples the running threads every 10 ms (100 a second, as Go's
 * runtime/pprof does) for the whole run; DIR/cpu.jfr is the recording and
 * DIR/cpu.folded its execution samples as folded stacks, root first.
 */
final class Profile {
    static final String ENV = "WORKLOAD_CPUPROFILE";

    private static final Pattern LAMBDA_ADDRESS = Pattern.compile("\\$\\$Lambda[./]0x[0-9a-f]+");

    private final Path dir;
    private final Recording recording;

    private Profile(Path dir, Recording recording) {
        this.dir = dir;
        this.recording = recording;
    }

    /** Null when no profile was asked for. */
    static Profile start() throws IOException {
        String dir = System.getenv(ENV);
        if (dir == null || dir.isEmpty()) {
            return null;
        }
        Path path = Path.of(dir);
        Files.createDirectories(path);
        Recording r = new Recording();
        r.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(10)).withStackTrace();
        r.setToDisk(true);
        r.start();
        return new Profile(path, r);
    }

    /** Stop recording, keep the recording and write its samples as folded stacks. */
    void finish() throws IOException {
        recording.stop();
        Path jfr = dir.resolve("cpu.jfr");
        recording.dump(jfr);
        recording.close();
        TreeMap<String, Long> stacks = new TreeMap<>();
        for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
            String type = e.getEventType().getName();
            if (!type.equals("jdk.ExecutionSample") || e.getStackTrace() == null) {
                continue;
            }
            List<RecordedFrame> frames = e.getStackTrace().getFrames(); // innermost first
            StringBuilder sb = new StringBuilder();
            for (int i = frames.size() - 1; i >= 0; i--) {
                RecordedFrame f = frames.get(i);
                if (sb.length() > 0) {
                    sb.append(';');
                }
                String name = f.getMethod().getType().getName() + "." + f.getMethod().getName();
                // a lambda's class is named by its address, different in every run
                sb.append(LAMBDA_ADDRESS.matcher(name).replaceAll("\\$\\$Lambda").replace(';', ':'));
            }
            stacks.merge(sb.length() == 0 ? "[unknown]" : sb.toString(), 1L, Long::sum);
        }
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(dir.resolve("cpu.folded")))) {
            stacks.forEach((stack, n) -> out.println(stack + " " + n));
        }
    }
}

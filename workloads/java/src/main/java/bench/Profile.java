package bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
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
 * DIR/cpu.folded its execution samples as folded stacks, root first. With
 * WORKLOAD_CPUPROFILE_WINDOW=commands an http server records only between the
 * "profile start" and "profile stop" lines the harness writes on its stdin.
 */
final class Profile {
    static final String ENV = "WORKLOAD_CPUPROFILE";
    static final String WINDOW_ENV = "WORKLOAD_CPUPROFILE_WINDOW";

    private static final Pattern LAMBDA_ADDRESS = Pattern.compile("\\$\\$Lambda[./]0x[0-9a-f]+");

    private final Path dir;
    private Recording recording; // non-null while recording
    private boolean done; // a profile covers one window

    private Profile(Path dir) {
        this.dir = dir;
    }

    /** Null when no profile was asked for. */
    static Profile start(boolean http) throws IOException {
        String dir = System.getenv(ENV);
        if (dir == null || dir.isEmpty()) {
            return null;
        }
        String window = System.getenv(WINDOW_ENV);
        boolean onCommands = "commands".equals(window);
        if (window != null && !window.isEmpty() && !onCommands) {
            throw new IllegalArgumentException(WINDOW_ENV + "=\"" + window + "\": use \"commands\" or leave it unset");
        }
        Path path = Path.of(dir);
        Files.createDirectories(path);
        Profile p = new Profile(path);
        if (onCommands && http) {
            Thread t = new Thread(p::obeyCommands, "profile-commands");
            t.setDaemon(true);
            t.start();
        } else {
            p.begin();
        }
        return p;
    }

    private synchronized void begin() {
        if (recording != null || done) {
            return;
        }
        Recording r = new Recording();
        r.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(10)).withStackTrace();
        r.setToDisk(true);
        r.start();
        recording = r;
    }

    /** "profile start" / "profile stop" on stdin, each acknowledged once it took effect. */
    private void obeyCommands() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in))) {
            String line;
            while ((line = in.readLine()) != null) {
                String state;
                switch (line.trim()) {
                    case "profile start" -> { begin(); state = "started"; }
                    case "profile stop" -> { finish(); state = "stopped"; }
                    default -> { continue; }
                }
                Workload.emit(new Json().put("type", "profile").put("state", state));
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("workload-java: CPU profile: " + e);
            Runtime.getRuntime().halt(3);
        }
    }

    /** Stop recording (if it still is), keep the recording and write its samples as folded stacks. */
    synchronized void finish() throws IOException {
        if (recording == null) {
            return;
        }
        Recording r = recording;
        recording = null;
        done = true;
        r.stop();
        Path jfr = dir.resolve("cpu.jfr");
        r.dump(jfr);
        r.close();
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

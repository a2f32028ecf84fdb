package bench;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/** Every JVM setting that moves the numbers, as the JVM itself reports it. */
final class Settings {
    static final String PARALLELISM = "jdk.virtualThreadScheduler.parallelism";
    static final String MAX_POOL = "jdk.virtualThreadScheduler.maxPoolSize";

    private Settings() {}

    static Json collect() {
        List<String> collectors = new ArrayList<>();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            collectors.add(gc.getName());
        }
        var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        Json out = new Json();
        Sync.chosen().forEach((point, choice) -> out.put("sync_" + point, choice)); // the primitives used
        return out
                .put("runtime_version", System.getProperty("java.runtime.version"))
                .put("vm_name", System.getProperty("java.vm.name"))
                .put("vm_vendor", System.getProperty("java.vm.vendor"))
                .put("gc", String.join(", ", collectors))
                .put("heap_initial_bytes", heap.getInit())
                .put("heap_max_bytes", Runtime.getRuntime().maxMemory())
                .put("scheduler_parallelism", System.getProperty(PARALLELISM, "unset"))
                .put("scheduler_max_pool_size", System.getProperty(MAX_POOL, "default (max(parallelism, 256))"))
                .put("available_processors", Runtime.getRuntime().availableProcessors())
                .put("jvm_args", String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()))
                .put("os_arch", System.getProperty("os.arch"));
    }
}

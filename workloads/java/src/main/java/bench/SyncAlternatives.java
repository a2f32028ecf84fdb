package bench;

import bench.Sync.Accumulator;
import bench.Sync.Gate;
import bench.Sync.Joiner;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The alternatives the primitives audit measures against the protocol's choices
 * ({@link Sync}); a build with -Dworkload.sync.exclude=bench/SyncAlternatives.java
 * leaves this class out, and Sync finds only its own.
 */
final class SyncAlternatives {
    private SyncAlternatives() {}

    static void register() {
        Sync.ACCUMULATORS.put("adder", n -> { // java.util.concurrent's striped counter for contended sums
            LongAdder a = new LongAdder();
            return new Accumulator() {
                public void add(int index, long v) { a.add(v); }
                public long sum() { return a.sum(); }
            };
        });
        Sync.ACCUMULATORS.put("slots", n -> { // one slot per task, written only by that task, summed after the join
            long[] slots = new long[n];
            return new Accumulator() {
                public void add(int index, long v) { slots[index] = v; }
                public long sum() {
                    long s = 0;
                    for (long v : slots) s += v;
                    return s;
                }
            };
        });
        Sync.JOINERS.put("counter", n -> { // an atomic countdown whose last decrement unparks the one waiter
            Thread.Builder.OfVirtual builder = Thread.ofVirtual();
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
        });
        Sync.JOINERS.put("executor", n -> { // the JDK's idiom: a virtual thread per task, close() waits for all
            ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
            AtomicInteger left = new AtomicInteger(n);
            return new Joiner() {
                public void start(Runnable task) { ex.execute(task); }
                public void done() { left.decrementAndGet(); }
                public void await() { ex.close(); }
                public boolean finished() { return left.get() == 0; }
            };
        });
        Sync.GATES.put("latch", n -> { // CountDownLatch(1): its shared release wakes the waiters as a chain
            CountDownLatch latch = new CountDownLatch(1);
            return new Gate() {
                public void register(int index) {}
                public void park() throws InterruptedException { latch.await(); }
                public void release() { latch.countDown(); }
            };
        });
        Sync.GATES.put("condition", n -> { // ReentrantLock + Condition.signalAll: every waiter re-acquires the lock
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
        });
        Sync.GATES.put("monitor", n -> { // synchronized + wait/notifyAll (no pinning since JDK 24, JEP 491)
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
        });
    }
}

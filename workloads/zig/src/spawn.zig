//! spawn, the Zig way: `Io.Group.async` over N units on `Io.Threaded`. Not a task per unit: the pool
//! has W-1 threads beside the spawner, and a unit that finds them busy runs inline on the spawner
//! (Zig 0.17's std has no green threads). Same work function, checksum, latency slots and rounds as
//! PROTOCOL.md's spawn; the harness labels it "pool, not a task per unit" and ranks it apart.
const std = @import("std");
const Io = std.Io;
const work = @import("work.zig");
const proc = @import("proc.zig");

pub const Round = struct {
    tasks: u64,
    work: u64,
    checksum: u64,
    total_ns: u64,
    spawn_ns: u64,
    latency_mean: f64,
    latency_p50: u64,
    latency_p99: u64,
    latency_max: u64,
    cpu_ns: u64,

    pub fn tasksPerSec(r: Round) f64 {
        return @as(f64, @floatFromInt(r.tasks)) / (@as(f64, @floatFromInt(@max(r.total_ns, 1))) / 1e9);
    }
};

fn nowNs(io: Io) u64 {
    return @intCast(Io.Clock.awake.now(io).toNanoseconds());
}

fn unit(io: Io, sum: *std.atomic.Value(u64), latencies: []u64, i: usize, k: u64, spawned_at: u64) void {
    latencies[i] = nowNs(io) -| spawned_at; // first action: the spawn-to-start latency
    _ = sum.fetchAdd(work.work(i, k), .monotonic);
}

/// One round; `latencies` holds N slots, allocated before timing.
pub fn round(io: Io, latencies: []u64, k: u64) Io.Cancelable!Round {
    var sum = std.atomic.Value(u64).init(0);
    var group: Io.Group = .init;
    const cpu0 = proc.cpu();
    const origin = nowNs(io);
    for (latencies, 0..) |_, i| {
        group.async(io, unit, .{ io, &sum, latencies, i, k, nowNs(io) });
    }
    const spawn_ns = nowNs(io) - origin;
    try group.await(io); // the join: one wait for the whole group
    const total_ns = nowNs(io) - origin;
    const cpu1 = proc.cpu();

    std.mem.sort(u64, latencies, {}, std.sort.asc(u64));
    var total: f64 = 0;
    for (latencies) |l| total += @floatFromInt(l);
    const n = latencies.len;
    return .{
        .tasks = n,
        .work = k,
        .checksum = sum.load(.monotonic),
        .total_ns = total_ns,
        .spawn_ns = spawn_ns,
        .latency_mean = total / @as(f64, @floatFromInt(n)),
        .latency_p50 = nearestRank(latencies, 50),
        .latency_p99 = nearestRank(latencies, 99),
        .latency_max = latencies[n - 1],
        .cpu_ns = @intCast(@max(0, (cpu1.user_ns + cpu1.system_ns) - (cpu0.user_ns + cpu0.system_ns))),
    };
}

/// The p-th percentile, nearest rank: the value at 1-based rank ceil(p/100 * N) of the sorted array.
pub fn nearestRank(sorted: []const u64, p: u64) u64 {
    const rank = (p * sorted.len + 99) / 100;
    return sorted[@max(rank, 1) - 1];
}

test "nearest rank" {
    const xs = [_]u64{ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    try std.testing.expectEqual(@as(u64, 5), nearestRank(&xs, 50));
    try std.testing.expectEqual(@as(u64, 10), nearestRank(&xs, 99));
    try std.testing.expectEqual(@as(u64, 1), nearestRank(xs[0..1], 50));
}

test "a round over a pool does every unit once: the checksum agrees" {
    var threaded: Io.Threaded = .init(std.testing.allocator, .{ .async_limit = .limited(1) });
    defer threaded.deinit();
    const latencies = try std.testing.allocator.alloc(u64, 1000);
    defer std.testing.allocator.free(latencies);
    const r = try round(threaded.io(), latencies, 100);
    try std.testing.expectEqual(@as(u64, 0x3a8439e46579c231), r.checksum);
    try std.testing.expect(r.total_ns >= r.spawn_ns);
}

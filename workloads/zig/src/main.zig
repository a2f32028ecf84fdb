//! workload-zig: PROTOCOL.md in Zig 0.17 with the standard library only. http (thread per connection)
//! and spawn (a pool: `Io.Group.async`, labelled so by the harness); live is refused in one line: Zig
//! 0.17's std has no green threads, so a parked unit would be an OS thread.
const std = @import("std");
const builtin = @import("builtin");
const Io = std.Io;
const args_mod = @import("args.zig");
const spawn = @import("spawn.zig");
const http = @import("http.zig");
const proc = @import("proc.zig");
const work = @import("work.zig");

pub const std_options: std.Options = .{
    // Since 0.16 every thread zero-fills a 256 KiB alternate signal stack (for stack traces on a crash):
    // ~265 KiB RSS per parked thread, 272 KiB per keep-alive connection. Off, as Go (32 KiB per M) and
    // the others pay nothing like it per unit; recorded in settings as signal_stack_bytes.
    .signal_stack_size = null,
};

const protocol_version = 3;
const exit_ok = 0;
const exit_failure = 1;
const exit_usage = 2;
const exit_env = 3;

pub const live_refusal = "live is not measured: Zig 0.17's standard library has no green threads; a parked unit is an OS thread";

var stdout_buf: [1 << 16]u8 = undefined;

/// One JSON line on stdout, flushed at once (the harness acts on lines while the program runs).
fn emit(io: Io, comptime format: []const u8, values: anytype) void {
    var w: Io.File.Writer = .initStreaming(.stdout(), io, &stdout_buf); // appends: a positional writer would rewrite offset 0 when stdout is a file
    w.interface.print(format ++ "\n", values) catch {};
    w.interface.flush() catch {};
}

fn fail(code: u8, comptime format: []const u8, values: anytype) u8 {
    std.debug.print("workload-zig: " ++ format ++ "\n", values);
    return code;
}

/// Every setting that moves the numbers, as one JSON object.
fn settings(buf: []u8, workers: i64) []const u8 {
    return std.fmt.bufPrint(buf,
        \\{{"runtime_version":"zig {s}","optimize":"{s}","target_arch":"{s}","io":"std.Io.Threaded","async_limit":{d},"concurrent_limit":"unlimited","thread_stack_bytes":{d},"signal_stack_bytes":0,"allocator":"std.heap.smp_allocator","libc":"none","workers":{d}}}
    , .{
        builtin.zig_version_string,
        @tagName(builtin.mode),
        @tagName(builtin.cpu.arch),
        workers - 1,
        std.Thread.SpawnConfig.default_stack_size,
        workers,
    }) catch "{}";
}

pub fn main(init: std.process.Init.Minimal) u8 {
    const gpa = std.heap.smp_allocator;
    var argv_buf: [64][]const u8 = undefined;
    var it = init.args.iterate();
    _ = it.skip();
    var argc: usize = 0;
    while (it.next()) |a| : (argc += 1) {
        if (argc == argv_buf.len) return fail(exit_usage, "too many arguments", .{});
        argv_buf[argc] = a;
    }
    var msg: [256]u8 = undefined;
    const opts = switch (args_mod.parse(argv_buf[0..argc], &msg)) {
        .ok => |o| o,
        .usage => |m| return fail(exit_usage, "{s}", .{m}),
    };
    if (init.environ.getPosix("WORKLOAD_SYNC")) |v| if (v.len > 0)
        return fail(exit_usage, "WORKLOAD_SYNC: Zig has one choice per point (join: the group's await, accumulate: atomic)", .{});
    if (init.environ.getPosix("WORKLOAD_CPUPROFILE")) |v| if (v.len > 0)
        return fail(exit_env, "WORKLOAD_CPUPROFILE: Zig has no in-process profiler; profile it from outside (perf)", .{});
    if (opts.scenario == .live) return fail(exit_usage, live_refusal, .{});
    const listen_host: []const u8 = blk: {
        if (init.environ.getPosix("WORKLOAD_LISTEN")) |v| if (v.len > 0) break :blk v;
        break :blk "127.0.0.1";
    };

    // W threads run units: the spawner (this thread) and W-1 in the pool. http's connections are
    // threads of their own (`concurrent`), so W bounds only `async` work there.
    var threaded: Io.Threaded = .init(gpa, .{
        .async_limit = .limited(@intCast(opts.workers - 1)),
        .environ = init.environ,
    });
    defer threaded.deinit();
    const io = threaded.io();
    return switch (opts.scenario) {
        .spawn => runSpawn(io, gpa, opts),
        .http => runHttp(io, opts, listen_host),
        .live => unreachable,
    };
}

fn runSpawn(io: Io, gpa: std.mem.Allocator, o: args_mod.Options) u8 {
    const n: usize = @intCast(o.tasks);
    const k: u64 = @intCast(o.work);
    const latencies = gpa.alloc(u64, n) catch return fail(exit_failure, "out of memory for {d} latency slots", .{n});
    defer gpa.free(latencies);
    var rounds_buf: std.ArrayList(u8) = .empty;
    defer rounds_buf.deinit(gpa);
    const rounds: usize = @intCast(o.warmup_iterations + o.iterations);
    var last: spawn.Round = undefined;
    for (0..rounds) |index| {
        const warmup = index < @as(usize, @intCast(o.warmup_iterations));
        last = spawn.round(io, latencies, k) catch return fail(exit_failure, "the round was cancelled", .{});
        var line_buf: [1024]u8 = undefined;
        const fields = roundFields(&line_buf, index, warmup, last);
        emit(io, "{{\"type\":\"iteration\",{s}}}", .{fields});
        if (index > 0) rounds_buf.append(gpa, ',') catch return fail(exit_failure, "out of memory", .{});
        rounds_buf.print(gpa, "{{{s}}}", .{fields}) catch return fail(exit_failure, "out of memory", .{});
    }
    var s_buf: [1024]u8 = undefined;
    var f_buf: [1024]u8 = undefined;
    const cpu = proc.cpu();
    emit(io,
        \\{{"type":"result","protocol":{d},"runtime":"zig","scenario":"spawn","workers":{d},{s},"iterations":[{s}],"peak_rss_bytes":{d},"cpu_user_ns":{d},"cpu_system_ns":{d},"forced_gc":"{s}","settings":{s}}}
    , .{
        protocol_version,                                     o.workers,
        roundFields(&f_buf, rounds - 1, false, last),         rounds_buf.items,
        proc.statusBytes("VmHWM"),                            cpu.user_ns,
        cpu.system_ns,                                        if (o.force_gc == 1) "not applicable (Zig has no collector)" else "",
        settings(&s_buf, o.workers),
    });
    return exit_ok;
}

/// A round's fields (without braces): the same in its `iteration` line, in `iterations` and in the result.
fn roundFields(buf: []u8, index: usize, warmup: bool, r: spawn.Round) []const u8 {
    return std.fmt.bufPrint(buf,
        \\"index":{d},"warmup":{},"tasks":{d},"work":{d},"checksum":"{x:0>16}","total_ns":{d},"spawn_ns":{d},"tasks_per_sec":{d:.1},"latency_ns":{{"mean":{d:.1},"p50":{d},"p99":{d},"max":{d}}},"cpu_ns":{d}
    , .{
        index,     warmup,          r.tasks,          r.work,          r.checksum,      r.total_ns, r.spawn_ns,
        r.tasksPerSec(), r.latency_mean, r.latency_p50, r.latency_p99, r.latency_max, r.cpu_ns,
    }) catch unreachable;
}

fn runHttp(io: Io, o: args_mod.Options, host: []const u8) u8 {
    http.installStopHandlers();
    var server = http.listen(io, host, @intCast(o.port)) catch |err|
        return fail(exit_env, "cannot listen on port {d} of {s}: {s}", .{ o.port, host, @errorName(err) });
    defer server.deinit(io);
    const port = server.socket.address.getPort();
    var shared: http.Shared = .{ .work = @intCast(o.work) };
    var s_buf: [1024]u8 = undefined;
    const ready_at = Io.Clock.awake.now(io).toNanoseconds();
    emit(io, "{{\"type\":\"ready\",\"runtime\":\"zig\",\"port\":{d},\"settings\":{s}}}", .{ port, settings(&s_buf, o.workers) });
    var group: Io.Group = .init;
    http.acceptLoop(io, &server, &group, &shared);
    // Stopped: busy connections had their answers written before their next read; the idle ones close
    // when the process exits. (Awaiting the group would wait for every client to hang up.)
    const uptime: i64 = @intCast(Io.Clock.awake.now(io).toNanoseconds() - ready_at);
    const cpu = proc.cpu();
    emit(io,
        \\{{"type":"result","protocol":{d},"runtime":"zig","scenario":"http","workers":{d},"port":{d},"requests_served":{d},"uptime_ns":{d},"peak_rss_bytes":{d},"cpu_user_ns":{d},"cpu_system_ns":{d},"forced_gc":"","settings":{s}}}
    , .{
        protocol_version, o.workers,  port, shared.served.load(.monotonic), uptime, proc.statusBytes("VmHWM"),
        cpu.user_ns,      cpu.system_ns, settings(&s_buf, o.workers),
    });
    std.process.exit(exit_ok); // the connection threads end with the process
}

test {
    _ = args_mod;
    _ = spawn;
    _ = http;
    _ = proc;
    _ = work;
}

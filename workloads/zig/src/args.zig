//! The protocol's tiny grammar (`--name value` or `--name=value`, base-10 integers only), by hand so
//! that every runtime gives the same one-line errors; std has no flag parser, and one would print usage.
const std = @import("std");

pub const max_tasks = 100_000_000;
pub const max_workers = 1024;
pub const max_work = 1_000_000;
pub const max_hold_ms = 86_400_000;
pub const max_iterations = 1_000;

pub const Scenario = enum { spawn, live, http };

pub const Options = struct {
    scenario: Scenario,
    tasks: i64 = 1_000_000,
    workers: i64 = 1,
    work: i64 = 100,
    hold_ms: i64 = -1, // live: -1 means "wait for a line on stdin"
    port: i64 = 8080,
    idle_check_ms: i64 = 0, // http: accepted for the protocol's symmetry; this server has no idle scanner
    iterations: i64 = 1,
    warmup_iterations: i64 = 0,
    force_gc: i64 = 0,
};

const Field = enum { tasks, workers, work, hold_ms, port, idle_check_ms, iterations, warmup_iterations, force_gc };
const Spec = struct { name: []const u8, field: Field, min: i64, max: i64 };

const common = [_]Spec{.{ .name = "workers", .field = .workers, .min = 1, .max = max_workers }};
const spawn_flags = common ++ [_]Spec{
    .{ .name = "tasks", .field = .tasks, .min = 1, .max = max_tasks },
    .{ .name = "work", .field = .work, .min = 0, .max = max_work },
    .{ .name = "iterations", .field = .iterations, .min = 1, .max = max_iterations },
    .{ .name = "warmup-iterations", .field = .warmup_iterations, .min = 0, .max = max_iterations },
    .{ .name = "force-gc", .field = .force_gc, .min = 0, .max = 1 },
};
const live_flags = common ++ [_]Spec{
    .{ .name = "tasks", .field = .tasks, .min = 1, .max = max_tasks },
    .{ .name = "work", .field = .work, .min = 0, .max = max_work },
    .{ .name = "hold-ms", .field = .hold_ms, .min = 0, .max = max_hold_ms },
    .{ .name = "force-gc", .field = .force_gc, .min = 0, .max = 1 },
};
const http_flags = common ++ [_]Spec{
    .{ .name = "work", .field = .work, .min = 0, .max = max_work },
    .{ .name = "port", .field = .port, .min = 0, .max = 65535 },
    .{ .name = "idle-check-ms", .field = .idle_check_ms, .min = 0, .max = max_hold_ms },
};


pub fn parse(argv: []const []const u8, msg_buf: []u8) union(enum) { ok: Options, usage: []const u8 } {
    if (argv.len == 0) return .{ .usage = "no subcommand: use spawn, live or http" };
    const sub = argv[0];
    const scenario = std.meta.stringToEnum(Scenario, sub) orelse
        return .{ .usage = fmt(msg_buf, "unknown subcommand \"{s}\": use spawn, live or http", .{sub}) };
    var o: Options = .{ .scenario = scenario };
    if (scenario == .http) o.work = 0; // no work per request unless asked (a planted cost, for calibrating the gate)
    const specs: []const Spec = switch (scenario) {
        .spawn => &spawn_flags,
        .live => &live_flags,
        .http => &http_flags,
    };
    var i: usize = 1;
    while (i < argv.len) : (i += 1) {
        const arg = argv[i];
        if (!std.mem.startsWith(u8, arg, "--"))
            return .{ .usage = fmt(msg_buf, "unexpected argument \"{s}\": flags look like --name value", .{arg}) };
        const body = arg[2..];
        const eq = std.mem.indexOfScalar(u8, body, '=');
        const name = if (eq) |e| body[0..e] else body;
        const spec = find(specs, name) orelse
            return .{ .usage = fmt(msg_buf, "unknown flag --{s} for {s}", .{ name, sub }) };
        var value: []const u8 = undefined;
        if (eq) |e| {
            value = body[e + 1 ..];
        } else {
            if (i + 1 >= argv.len) return .{ .usage = fmt(msg_buf, "flag --{s} needs a value", .{name}) };
            i += 1;
            value = argv[i];
        }
        const n = std.fmt.parseInt(i64, value, 10) catch
            return .{ .usage = fmt(msg_buf, "flag --{s}: \"{s}\" is not an integer", .{ name, value }) };
        if (n < spec.min or n > spec.max)
            return .{ .usage = fmt(msg_buf, "flag --{s}: {d} is outside [{d}, {d}]", .{ name, n, spec.min, spec.max }) };
        switch (spec.field) {
            inline else => |f| @field(o, @tagName(f)) = n,
        }
    }
    return .{ .ok = o };
}

fn find(specs: []const Spec, name: []const u8) ?Spec {
    for (specs) |s| if (std.mem.eql(u8, s.name, name)) return s;
    return null;
}

fn fmt(buf: []u8, comptime f: []const u8, args: anytype) []const u8 {
    return std.fmt.bufPrint(buf, f, args) catch "bad usage (the message did not fit)";
}

test "flags, values and ranges" {
    var buf: [256]u8 = undefined;
    const ok = parse(&.{ "spawn", "--tasks", "10", "--workers=2" }, &buf).ok;
    try std.testing.expectEqual(@as(i64, 10), ok.tasks);
    try std.testing.expectEqual(@as(i64, 2), ok.workers);
    try std.testing.expectEqualStrings("flag --tasks: -5 is outside [1, 100000000]", parse(&.{ "spawn", "--tasks", "-5" }, &buf).usage);
    try std.testing.expectEqualStrings("unknown flag --port for spawn", parse(&.{ "spawn", "--port", "1" }, &buf).usage);
    try std.testing.expectEqualStrings("flag --tasks needs a value", parse(&.{ "spawn", "--tasks" }, &buf).usage);
    try std.testing.expectEqual(@as(i64, 0), parse(&.{"http"}, &buf).ok.work);
}

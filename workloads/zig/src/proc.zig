//! What the process reads of itself from the kernel: resident set (/proc/self/status) and CPU time
//! (getrusage), the same sources the Go and Rust workloads use.
const std = @import("std");
const linux = std.os.linux;

/// A `/proc/self/status` field in bytes (VmHWM, VmRSS); -1 if unreadable.
pub fn statusBytes(comptime field: []const u8) i64 {
    var buf: [4096]u8 = undefined;
    const fd_rc = linux.open("/proc/self/status", .{ .ACCMODE = .RDONLY, .CLOEXEC = true }, 0);
    if (linux.errno(fd_rc) != .SUCCESS) return -1;
    const fd: linux.fd_t = @intCast(fd_rc);
    defer _ = linux.close(fd);
    var len: usize = 0;
    while (len < buf.len) {
        const n = linux.read(fd, buf[len..].ptr, buf.len - len);
        if (linux.errno(n) != .SUCCESS) return -1;
        if (n == 0) break;
        len += n;
    }
    var lines = std.mem.splitScalar(u8, buf[0..len], '\n');
    while (lines.next()) |line| {
        if (!std.mem.startsWith(u8, line, field ++ ":")) continue;
        var words = std.mem.tokenizeAny(u8, line[field.len + 1 ..], " \t");
        const kib = std.fmt.parseInt(i64, words.next() orelse return -1, 10) catch return -1;
        return kib * 1024;
    }
    return -1;
}

pub const Cpu = struct { user_ns: i64, system_ns: i64 };

pub fn cpu() Cpu {
    var ru: linux.rusage = undefined;
    if (linux.errno(linux.getrusage(linux.rusage.SELF, &ru)) != .SUCCESS) return .{ .user_ns = -1, .system_ns = -1 };
    return .{ .user_ns = tvNs(ru.utime), .system_ns = tvNs(ru.stime) };
}

fn tvNs(tv: linux.timeval) i64 {
    return @as(i64, @intCast(tv.sec)) * 1_000_000_000 + @as(i64, @intCast(tv.usec)) * 1000;
}

test "the process can read its own resident set and CPU time" {
    try std.testing.expect(statusBytes("VmRSS") > 0);
    try std.testing.expect(statusBytes("VmHWM") >= statusBytes("VmRSS"));
    try std.testing.expect(cpu().user_ns >= 0);
}

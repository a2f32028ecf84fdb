//! http: `std.http.Server` on `Io.Threaded`, one OS thread per keep-alive connection
//! (`Io.Group.concurrent`: `async` would run a connection inline on the accept loop once the pool is
//! busy, serialising connections). No idle timeout: a connection lives until its client closes it.
const std = @import("std");
const Io = std.Io;
const net = std.Io.net;
const linux = std.os.linux;
const work = @import("work.zig");

pub const body = "Hello, World!";
pub const server_name = "zig-std.http";
// Raised from std's 128 so that a ramp of thousands of connects is not refused (Go and hyper use SOMAXCONN).
pub const backlog = 4096;

pub const Shared = struct {
    served: std.atomic.Value(u64) = .init(0),
    work: u64 = 0,
};

/// The listening socket's descriptor, for the signal handler: shutdown() is async-signal-safe and makes
/// the blocked accept return, so SIGTERM ends the accept loop without a second thread.
pub var listen_fd = std.atomic.Value(i32).init(-1);
pub var stopping = std.atomic.Value(bool).init(false);

fn onStop(_: linux.SIG) callconv(.c) void {
    stopping.store(true, .release);
    const fd = listen_fd.load(.acquire);
    if (fd >= 0) _ = linux.shutdown(fd, linux.SHUT.RDWR);
}

pub fn installStopHandlers() void {
    const act: linux.Sigaction = .{ .handler = .{ .handler = onStop }, .mask = linux.sigemptyset(), .flags = 0 };
    _ = linux.sigaction(.TERM, &act, null);
    _ = linux.sigaction(.INT, &act, null);
}

/// `host`: loopback unless WORKLOAD_LISTEN names an address that load generators on other hosts reach.
pub fn listen(io: Io, host: []const u8, port: u16) !net.Server {
    const addr = try net.IpAddress.parse(host, port);
    const server = try addr.listen(io, .{ .kernel_backlog = backlog, .reuse_address = false });
    listen_fd.store(server.socket.handle, .release);
    return server;
}

/// Accepts until SIGTERM/SIGINT shuts the listening socket down; every connection its own thread.
pub fn acceptLoop(io: Io, server: *net.Server, group: *Io.Group, shared: *Shared) void {
    while (!stopping.load(.acquire)) {
        const stream = server.accept(io) catch |err| switch (err) {
            error.ConnectionAborted => continue,
            // out of descriptors or memory for now: wait and accept again, as net/http does, rather than end
            error.ProcessFdQuotaExceeded, error.SystemFdQuotaExceeded, error.SystemResources => {
                io.sleep(.fromMilliseconds(5), .awake) catch return;
                continue;
            },
            else => return, // SocketNotListening after the stop signal, or cancelled
        };
        group.concurrent(io, serve, .{ io, stream, shared }) catch {
            stream.close(io); // no thread to be had: refuse this connection, keep serving the others
        };
    }
}

fn serve(io: Io, stream: net.Stream, shared: *Shared) void {
    defer stream.close(io);
    var in_buf: [4096]u8 = undefined;
    var out_buf: [512]u8 = undefined;
    var reader = stream.reader(io, &in_buf);
    var writer = stream.writer(io, &out_buf);
    var server = std.http.Server.init(&reader.interface, &writer.interface);
    while (true) {
        var request = server.receiveHead() catch return; // closed by the client, or not HTTP
        var date_buf: [40]u8 = undefined;
        const date = httpDate(&date_buf, Io.Clock.real.now(io).toSeconds());
        const headers = [_]std.http.Header{
            .{ .name = "Content-Type", .value = "text/plain; charset=utf-8" },
            .{ .name = "Date", .value = date },
            .{ .name = "Server", .value = server_name },
        };
        if (std.mem.eql(u8, request.head.target, "/")) {
            const n = shared.served.fetchAdd(1, .monotonic) + 1;
            if (shared.work > 0) std.mem.doNotOptimizeAway(work.work(n, shared.work)); // a planted cost
            request.respond(body, .{ .extra_headers = &headers }) catch return;
        } else {
            request.respond("", .{ .status = .not_found, .extra_headers = &headers }) catch return;
        }
    }
}

const day_names = [_][]const u8{ "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" }; // 1970-01-01 was a Thursday
const month_names = [_][]const u8{ "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/// RFC 7231's IMF-fixdate: "Mon, 07 Dec 2026 13:30:55 GMT".
pub fn httpDate(buf: []u8, unix_seconds: i64) []const u8 {
    const es: std.time.epoch.EpochSeconds = .{ .secs = @intCast(unix_seconds) };
    const day = es.getEpochDay();
    const year_day = day.calculateYearDay();
    const month_day = year_day.calculateMonthDay();
    const t = es.getDaySeconds();
    return std.fmt.bufPrint(buf, "{s}, {d:0>2} {s} {d} {d:0>2}:{d:0>2}:{d:0>2} GMT", .{
        day_names[@intCast(day.day % 7)],
        month_day.day_index + 1,
        month_names[@intFromEnum(month_day.month) - 1],
        year_day.year,
        t.getHoursIntoDay(),
        t.getMinutesIntoHour(),
        t.getSecondsIntoMinute(),
    }) catch unreachable;
}

test "IMF-fixdate" {
    var buf: [40]u8 = undefined;
    try std.testing.expectEqualStrings("Thu, 01 Jan 1970 00:00:00 GMT", httpDate(&buf, 0));
    try std.testing.expectEqualStrings("Mon, 07 Dec 2026 13:30:55 GMT", httpDate(&buf, 1796650255));
}

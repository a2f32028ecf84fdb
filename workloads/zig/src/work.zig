//! The shared work function and checksum (PROTOCOL.md, "Work function and checksum").
const std = @import("std");

/// splitmix64's finaliser, all arithmetic wrapping mod 2^64.
pub fn mix(x: u64) u64 {
    var z = x +% 0x9E3779B97F4A7C15;
    z = (z ^ (z >> 30)) *% 0xBF58476D1CE4E5B9;
    z = (z ^ (z >> 27)) *% 0x94D049BB133111EB;
    return z ^ (z >> 31);
}

pub fn work(i: u64, k: u64) u64 {
    var x = i;
    var n: u64 = 0;
    while (n < k) : (n += 1) x = mix(x);
    return x;
}

/// The wrapping sum of work(i, K) over i = 0 .. N-1, computed serially (the tests' reference).
pub fn checksum(n: u64, k: u64) u64 {
    var sum: u64 = 0;
    var i: u64 = 0;
    while (i < n) : (i += 1) sum +%= work(i, k);
    return sum;
}

test "the protocol's test vectors" {
    try std.testing.expectEqual(@as(u64, 0), work(0, 0));
    try std.testing.expectEqual(@as(u64, 7), work(7, 0));
    try std.testing.expectEqual(@as(u64, 0xe220a8397b1dcdaf), work(0, 1));
    try std.testing.expectEqual(@as(u64, 0x910a2dec89025cc1), work(1, 1));
    try std.testing.expectEqual(@as(u64, 0xd19c70d5f6532370), work(12345, 100));
    try std.testing.expectEqual(@as(u64, 0x3a8439e46579c231), checksum(1000, 100));
    try std.testing.expectEqual(@as(u64, 1000 * 999 / 2), checksum(1000, 0));
}

//! The Zig workload (workloads/PROTOCOL.md): `zig build -Doptimize=ReleaseFast` puts the program in
//! zig-out/bin/workload; `zig build test` runs its unit tests. Standard library only.
const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    // -Dstrip: the size variant ships a stripped program (recorded beside its size)
    const strip = b.option(bool, "strip", "strip symbols from the program") orelse false;

    const root = b.createModule(.{
        .root_source_file = b.path("src/main.zig"),
        .target = target,
        .optimize = optimize,
        .strip = strip,
    });
    const exe = b.addExecutable(.{ .name = "workload", .root_module = root });
    b.installArtifact(exe);

    const tests = b.addTest(.{ .root_module = b.createModule(.{
        .root_source_file = b.path("src/main.zig"),
        .target = target,
        .optimize = .Debug,
    }) });
    const test_step = b.step("test", "Run the workload's unit tests");
    test_step.dependOn(&b.addRunArtifact(tests).step);
}

"""The profilers' file formats, read into folded stacks ("root;...;leaf" ->
samples). Each runtime descriptor names its reader (Go: pprof; Rust: folded;
Java: JFR's execution samples, folded by the workload)."""

from __future__ import annotations

import gzip
from pathlib import Path


def read_folded(text: str) -> dict[str, int]:
    stacks: dict[str, int] = {}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[stack] = stacks.get(stack, 0) + int(count)
    return stacks


def folded_reader(fmt: str):
    """A reader of `cpu.folded` (pprof-rs; JFR's samples folded by the Java workload), named `fmt`."""

    def read(directory: Path) -> tuple[str, dict[str, int]]:
        path = directory / "cpu.folded"
        if not path.exists():
            raise ValueError(f"no cpu.folded in {directory}")
        return fmt, read_folded(path.read_text(errors="replace"))

    return read


def pprof_reader(directory: Path) -> tuple[str, dict[str, int]]:
    path = directory / "cpu.pprof"
    if not path.exists():
        raise ValueError(f"no cpu.pprof in {directory}")
    return "pprof", pprof_stacks(path.read_bytes())


# --- pprof (Go) ---------------------------------------------------------------
# A pprof profile is a gzipped protocol buffer (github.com/google/pprof,
# proto/profile.proto). Reading it otherwise needs the Go toolchain (`go tool
# pprof`), which a docker-backend host need not have, or generated protobuf
# classes; the five fields a folded stack needs are a short walk of the wire format.


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _fields(buf: bytes):
    """(field number, wire type, value) of one message: ints for varints, bytes for the rest."""
    i = 0
    while i < len(buf):
        tag, i = _varint(buf, i)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, i = _varint(buf, i)
            yield field, wire, value
        elif wire == 2:
            n, i = _varint(buf, i)
            yield field, wire, buf[i : i + n]
            i += n
        elif wire == 1:
            yield field, wire, buf[i : i + 8]
            i += 8
        elif wire == 5:
            yield field, wire, buf[i : i + 4]
            i += 4
        else:
            raise ValueError(f"pprof: unsupported wire type {wire}")


def _ints(wire: int, value) -> list[int]:
    """A repeated integer field, packed (bytes) or not (one int)."""
    if wire == 0:
        return [value]
    out, i = [], 0
    while i < len(value):
        v, i = _varint(value, i)
        out.append(v)
    return out


def pprof_stacks(data: bytes) -> dict[str, int]:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    strings: list[str] = []
    samples: list[tuple[list[int], int]] = []
    locations: dict[int, list[int]] = {}  # location id -> function ids, innermost inlined first
    functions: dict[int, int] = {}  # function id -> string index of its name
    for field, _, value in _fields(data):
        if field == 6:  # string_table
            strings.append(value.decode(errors="replace"))
        elif field == 2:  # sample: location_id (1), value (2)
            locs: list[int] = []
            values: list[int] = []
            for f, w, v in _fields(value):
                if f == 1:
                    locs.extend(_ints(w, v))
                elif f == 2:
                    values.extend(_ints(w, v))
            samples.append((locs, values[0] if values else 1))  # value 0: samples/count
        elif field == 4:  # location: id (1), line (4) -> function_id (1)
            loc_id, funcs = 0, list[int]()
            for f, _, v in _fields(value):
                if f == 1:
                    loc_id = v
                elif f == 4:
                    funcs.extend(fv for ff, _, fv in _fields(v) if ff == 1)
            locations[loc_id] = funcs
        elif field == 5:  # function: id (1), name (2)
            fn_id = name = 0
            for f, _, v in _fields(value):
                if f == 1:
                    fn_id = v
                elif f == 2:
                    name = v
            functions[fn_id] = name
    stacks: dict[str, int] = {}
    for locs, count in samples:
        names: list[str] = []
        for loc in reversed(locs):  # location_id[0] is the leaf
            for fn in reversed(locations.get(loc, [])):
                names.append(strings[functions.get(fn, 0)].replace(";", ":") or "[unknown]")
        key = ";".join(names) or "[unknown]"
        stacks[key] = stacks.get(key, 0) + count
    return stacks

"""Static SVG flame graphs from folded stacks: no script, so the report stays a
plain document. Every frame is a rectangle as wide as its share of the samples,
callers below callees (root at the bottom); its name is printed where it fits
and in full in the rectangle's tooltip (<title>). Each runtime's graph is drawn
in shades of that runtime's colour, so it reads as the same runtime as the
plots beside it. Written by hand: the usual tools (Brendan Gregg's
flamegraph.pl, inferno) emit interactive SVG with scripts."""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass, field
from html import escape

WIDTH = 1000.0
ROW = 17.0
MIN_WIDTH = 0.3  # narrower frames are not drawn (their samples stay in their parent's width)
MAX_DEPTH = 80
CHAR_WIDTH = 6.6  # at 11 px monospace, for deciding whether a name fits


@dataclass
class Node:
    name: str
    count: int = 0
    children: dict[str, Node] = field(default_factory=dict)


def tree(stacks: dict[str, int]) -> Node:
    root = Node("all")
    for stack, count in stacks.items():
        root.count += count
        node = root
        for name in stack.split(";")[:MAX_DEPTH]:
            node = node.children.setdefault(name, Node(name))
            node.count += count
    return root


def _shade(base_hex: str, name: str) -> str:
    """The runtime's colour, lighter or darker by a hash of the frame's name (stable across runs)."""
    r, g, b = (int(base_hex.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    k = int(hashlib.md5(name.encode()).hexdigest()[:4], 16) / 0xFFFF  # noqa: S324 (a colour, not security)
    lightness = 0.55 + 0.3 * k  # light enough for black text
    r, g, b = colorsys.hls_to_rgb(h, lightness, min(1.0, s * 0.9))
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def _short(name: str) -> str:
    """Package paths and generic parameters make names long; the tooltip keeps the whole."""
    return name.split("(")[0] if len(name) > 60 else name


def svg(stacks: dict[str, int], base_colour: str, title: str) -> str:
    root = tree(stacks)
    if root.count == 0:
        return ""
    rects: list[str] = []
    depth_seen = 0

    def draw(node: Node, x: float, depth: int) -> None:
        nonlocal depth_seen
        width = WIDTH * node.count / root.count
        if width < MIN_WIDTH:
            return
        depth_seen = max(depth_seen, depth)
        pct = 100.0 * node.count / root.count
        label = _short(node.name)
        fits = int((width - 4) / CHAR_WIDTH)
        text = label if len(label) <= fits else (label[: fits - 1] + "…" if fits >= 4 else "")
        rects.append(
            f"<g><title>{escape(node.name)} — {node.count} samples, {pct:.1f}%</title>"
            f'<rect x="{x:.1f}" y="{{y{depth}}}" width="{width:.1f}" height="{ROW - 1:.0f}" '
            f'fill="{_shade(base_colour, node.name) if depth else "#d0d0d0"}" rx="1"/>'
            + (f'<text x="{x + 3:.1f}" y="{{t{depth}}}">{escape(text)}</text>' if text else "")
            + "</g>"
        )
        child_x = x
        for child in sorted(node.children.values(), key=lambda c: c.name):  # alphabetical, as flamegraph.pl
            draw(child, child_x, depth + 1)
            child_x += WIDTH * child.count / root.count

    draw(root, 0.0, 0)
    height = (depth_seen + 1) * ROW + 24
    body = "".join(rects)
    for d in range(depth_seen + 1):  # root at the bottom
        y = height - (d + 1) * ROW
        body = body.replace(f"{{y{d}}}", f"{y:.0f}").replace(f"{{t{d}}}", f"{y + ROW - 5:.0f}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flame" viewBox="0 0 {WIDTH:.0f} {height:.0f}" '
        f'width="100%" role="img" aria-label="{escape(title)}">'
        f'<text x="0" y="14" class="flame-title">{escape(title)} ({root.count} samples)</text>'
        f"{body}</svg>"
    )


def _shares(stacks: dict[str, int]) -> dict[str, float]:
    """Each frame path ("a;b;c") and its share of all samples (inclusive)."""
    total = sum(stacks.values()) or 1
    out: dict[str, float] = {}
    for stack, count in stacks.items():
        parts = stack.split(";")[:MAX_DEPTH]
        for i in range(1, len(parts) + 1):
            key = ";".join(parts[:i])
            out[key] = out.get(key, 0.0) + count / total
    return out


def _tint(base_hex: str, change: float) -> str:
    """The runtime's colour, darker and fuller the more a frame grew, paler the more it shrank."""
    r, g, b = (int(base_hex.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    h, _, s = colorsys.rgb_to_hls(r, g, b)
    k = max(-1.0, min(1.0, change / 0.05))  # a change of 5 points of the samples is the full tint
    lightness = 0.62 - 0.3 * k if k > 0 else 0.62 + 0.3 * -k
    sat = min(1.0, s * (0.6 + 0.4 * abs(k))) if k > 0 else s * (1 - 0.8 * -k)
    r, g, b = colorsys.hls_to_rgb(h, min(0.95, lightness), sat)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def diff_svg(base: dict[str, int], cand: dict[str, int], base_colour: str, title: str) -> tuple[str, list[tuple]]:
    """A differential flame graph (as Brendan Gregg's, CodSpeed's): the candidate's profile laid out,
    each frame tinted by how its share of the samples changed from the base's (darker: grew, paler:
    shrank, in the runtime's colour); static, no script. Returns the SVG and the frames that moved
    most, (frame path, base share, candidate share), largest change first, for the table beside it."""
    bs, cs = _shares(base), _shares(cand)
    root = tree(cand)
    if root.count == 0:
        return "", []
    rects: list[str] = []
    depth_seen = 0

    def draw(node: Node, path: str, x: float, depth: int) -> None:
        nonlocal depth_seen
        width = WIDTH * node.count / root.count
        if width < MIN_WIDTH:
            return
        depth_seen = max(depth_seen, depth)
        change = cs.get(path, 0.0) - bs.get(path, 0.0) if path else 0.0
        label = _short(node.name)
        fits = int((width - 4) / CHAR_WIDTH)
        text = label if len(label) <= fits else (label[: fits - 1] + "…" if fits >= 4 else "")
        fill = _tint(base_colour, change) if depth else "#d0d0d0"
        rects.append(
            f"<g><title>{escape(node.name)} — {100 * bs.get(path, 0.0):.1f}% of the base's samples, "
            f"{100 * cs.get(path, 0.0):.1f}% of the candidate's ({100 * change:+.1f} points)</title>"
            f'<rect x="{x:.1f}" y="{{y{depth}}}" width="{width:.1f}" height="{ROW - 1:.0f}" fill="{fill}" rx="1"/>'
            + (f'<text x="{x + 3:.1f}" y="{{t{depth}}}">{escape(text)}</text>' if text else "")
            + "</g>"
        )
        child_x = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            draw(child, f"{path};{child.name}" if path else child.name, child_x, depth + 1)
            child_x += WIDTH * child.count / root.count

    draw(root, "", 0.0, 0)
    height = (depth_seen + 1) * ROW + 24
    body = "".join(rects)
    for d in range(depth_seen + 1):
        y = height - (d + 1) * ROW
        body = body.replace(f"{{y{d}}}", f"{y:.0f}").replace(f"{{t{d}}}", f"{y + ROW - 5:.0f}")
    svg_text = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flame" viewBox="0 0 {WIDTH:.0f} {height:.0f}" '
        f'width="100%" role="img" aria-label="{escape(title)}">'
        f'<text x="0" y="14" class="flame-title">{escape(title)} (candidate {root.count} samples; darker: grew, '
        f"paler: shrank)</text>{body}</svg>"
    )
    moved = sorted(
        ((p, bs.get(p, 0.0), cs.get(p, 0.0)) for p in set(bs) | set(cs)),
        key=lambda row: -abs(row[2] - row[1]),
    )
    return svg_text, moved[:15]

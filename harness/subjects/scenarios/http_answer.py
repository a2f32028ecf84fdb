"""TechEmpower-style verification of a server's answer before it is measured:
status, headers and body of GET /, checked over a plain socket so that no
HTTP client library smooths over a malformed response."""

from __future__ import annotations

import socket
from email.utils import parsedate_to_datetime

EXPECTED_BODY = b"Hello, World!"


def get(port: int, path: str = "/", host: str = "127.0.0.1", timeout: float = 10) -> tuple[int, dict, bytes]:
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("connection closed before the response head")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = s.recv(4096)
            if not chunk:
                break
            body += chunk
        return status, headers, body


def problems(port: int) -> list[str]:
    """Everything wrong with the answer to GET / (asked from this machine); empty when it passes."""
    try:
        status, headers, body = get(port)
    except (OSError, ValueError, IndexError) as e:
        return [f"GET / failed: {e}"]
    return check(status, headers, body)


def check(status: int, headers: dict, body: bytes) -> list[str]:
    """Everything wrong with one answer to GET / (headers with lower-case names); empty when it passes."""
    found = []
    if status != 200:
        found.append(f"status {status}, expected 200")
    if body != EXPECTED_BODY:
        found.append(f"body {body[:40]!r}, expected {EXPECTED_BODY!r}")
    if not headers.get("content-type", "").startswith("text/plain"):
        found.append(f"Content-Type {headers.get('content-type')!r}, expected text/plain")
    if headers.get("content-length") != str(len(EXPECTED_BODY)):
        found.append(f"Content-Length {headers.get('content-length')!r}, expected {len(EXPECTED_BODY)}")
    if not headers.get("server"):
        found.append("no Server header")
    try:
        parsedate_to_datetime(headers["date"])
    except (KeyError, TypeError, ValueError):
        found.append(f"Date header missing or not an HTTP date: {headers.get('date')!r}")
    return found


def check_verify_result(result: dict) -> list[str]:
    """The load generator's `verify` answer (asked from the engine's own machine)."""
    return check(int(result["status"]), dict(result["headers"]), str(result["body"]).encode())

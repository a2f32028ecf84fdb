#!/usr/bin/env python3
"""Open a report in headless Chromium, fail on console errors, keep a screenshot.

    .venv/bin/python scripts/check_report_in_chromium.py REPORT.html SCREENSHOT.png

Chromium logs the page's console messages to stderr with
--enable-logging=stderr --log-level=0, but without their level (console.error
and console.log both appear as INFO:CONSOLE). The report carries no script at
all, so any console line at all — an error, an uncaught exception, a blocked
resource — fails the check.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: check_report_in_chromium.py REPORT.html SCREENSHOT.png", file=sys.stderr)
        return 2
    report, shot = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium not found: apt-get install -y chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--log-level=0",
                "--hide-scrollbars",
                "--window-size=1280,2400",
                f"--screenshot={shot}",
                report.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    console = [line for line in p.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    errors = console
    for line in console:
        print(line)
    if p.returncode != 0 or not shot.exists() or shot.stat().st_size < 10_000:
        print(f"chromium failed to render {report} (exit {p.returncode}): {p.stderr.strip()[-300:]}", file=sys.stderr)
        return 1
    if errors:
        print(f"{len(errors)} console error(s) while rendering {report}", file=sys.stderr)
        return 1
    print(f"rendered {report} without console errors; screenshot {shot} ({shot.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

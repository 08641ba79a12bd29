"""nginx from Debian in front of Sigil, as deploy/ ships it: a site file rewritten for the test's
addresses, run in a prefix of its own until the test ends."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def site(name: str, replacements: list[tuple[str, str]]) -> str:
    """deploy/NAME with each (old, new) replaced; every `old` must be in the file."""
    text = (REPO / "deploy" / name).read_text()
    for old, new in replacements:
        assert old in text, f"{old!r} is not in deploy/{name}"
        text = text.replace(old, new)
    return text


@contextmanager
def nginx(prefix: Path, site_text: str, health_url: str, ca_file: str):
    """Runs nginx with `site_text` in its http block until the block ends; waits until
    `health_url` answers 200 through it."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        pytest.skip("nginx is not installed (scripts/test installs it)")
    (prefix / "logs").mkdir(parents=True)
    (prefix / "nginx.conf").write_text(
        f"pid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log;\nevents {{}}\n"
        f"http {{\naccess_log {prefix}/logs/access.log;\nclient_body_temp_path {prefix}/body;\nproxy_temp_path {prefix}/proxy;\n"
        f"{site_text}\n}}\n")
    process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if requests.get(health_url, verify=ca_file, timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"nginx did not come up: {process.communicate()[1]}")
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)

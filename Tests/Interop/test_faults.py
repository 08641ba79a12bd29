"""Faults survived, under load (issue 14): PostgreSQL restarted, SQLite's disk full, the server's
clock stepped. Each checks that clients are told to retry (`503` with `Retry-After`), that Sigil
recovers by itself, and that nothing it acknowledged was lost."""

from __future__ import annotations

import errno
import glob
import os
import subprocess
import tempfile
import time
from pathlib import Path

import jwt
import pytest
import requests

from conftest import POSTGRES_URL, AdminAPI, SigilCli
from fault_support import Load, missing_apps, sign_in_correlation_ids, sqlite_integrity

REPO = Path(__file__).resolve().parents[2]
LIBFAKETIME = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), None)
RESOURCE = "api://faults"


def secret_client(server, tmp_path: Path, name: str) -> tuple[dict, str]:
    """A client with a secret and a resource it may call: the token form, and its appId."""
    cli = SigilCli(tmp_path / f"{name}-profile.json", binary=server.binary)
    cli.login(server)
    cli.json("app", "create", f"{name}-api", "--identifier-uri", f"{RESOURCE}/{name}")
    client = cli.json("app", "create", name)
    secret = cli.json("app", "secret", "add", name)["secretText"]
    form = {"grant_type": "client_credentials", "client_id": client["appId"], "client_secret": secret,
            "scope": f"{RESOURCE}/{name}/.default"}
    return form, client["appId"]


def assert_nothing_acknowledged_lost(load: Load, admin: AdminAPI, app_id: str):
    missing = missing_apps(admin, load.created)
    assert not missing, f"{len(missing)} of {len(load.created)} acknowledged applications are gone: {missing[:10]}"
    logged = sign_in_correlation_ids(admin, app_id)
    unlogged = [c for c in load.issued if c not in logged]
    assert not unlogged, f"{len(unlogged)} of {len(load.issued)} issued tokens have no sign-in: {unlogged[:5]}"


def assert_one_outage_logged(server):
    """The outage's start and end, each logged once (not once per refused request). The end is
    logged after 2 s without a failure: /readyz reads the store until it is."""
    deadline = time.monotonic() + 15
    while "store available again" not in server.stderr_text():
        assert time.monotonic() < deadline, server.stderr_text()[-3000:]
        requests.get(f"{server.base_url}/readyz", verify=server.ca_file, timeout=10)
        time.sleep(0.5)
    log = server.stderr_text()
    assert log.count("store unavailable: ") == 1 and log.count("store available again") == 1, log[-3000:]
    return log


def assert_told_to_retry(load: Load, since: float, until: float):
    refused = [o for o in load.outcomes + load.writes if since <= o.at < until and o.status == 503]
    assert refused, f"no 503 between the fault and the recovery: {load.statuses(since, until)}"
    assert all(o.retry_after == "1" for o in refused), [o for o in refused if o.retry_after != "1"][:3]
    others = {s for s in load.statuses() if s not in (200, 201, 503)}
    assert not others, f"answers other than 200, 201 and 503 under the fault: {load.statuses()}"


# -- PostgreSQL restarted ---------------------------------------------------------------------


def postgres(command: str, directory: Path) -> str:
    return subprocess.run([str(REPO / "scripts" / "postgres.sh"), command, str(directory)], check=True,
                          capture_output=True, text=True, timeout=120).stdout.strip()


@pytest.fixture
def own_postgres():
    """A PostgreSQL server of this test's own: restarting it disturbs no other test's servers."""
    if POSTGRES_URL is None:
        pytest.skip("runs in the PostgreSQL pass (SIGIL_TEST_POSTGRES_URL is not set)")
    # Under /tmp, not tmp_path: the postgres user must reach it, and pytest's folders are root's alone.
    directory = Path(tempfile.mkdtemp(prefix="sigil-faults-")) / "postgres"
    os.chmod(directory.parent, 0o755)
    url = postgres("start", directory)
    yield url, directory
    postgres("stop", directory)
    directory.parent.rmdir()


def test_postgres_restarted_under_load_answers_503_then_recovers_losing_nothing(start_server, own_postgres, tmp_path):
    url, directory = own_postgres
    server = start_server(database=url, name="postgres-restart")
    admin = AdminAPI(server)
    form, app_id = secret_client(server, tmp_path, "restart-client")
    load = Load(server.base_url, server.tenant, server.ca_file, form, admin).start()
    try:
        load.wait_for_tokens(20)
        postgres("halt", directory)
        down = time.monotonic()
        time.sleep(3)
        up = time.monotonic()
        postgres("resume", directory)
        load.wait_for_tokens(20, timeout=60)
        recovered = time.monotonic()
    finally:
        load.stop()
    during = load.statuses(down, up)
    assert set(during) == {503}, f"while PostgreSQL was down: {during}"
    assert_told_to_retry(load, down, up)
    print(f"\nPostgreSQL down {up - down:.1f}s: {during}; tokens again {recovered - up:.1f}s after it was back; "
          f"{len(load.issued)} tokens, {len(load.created)} apps acknowledged")
    assert server.running(), "the server exited during the outage"
    assert_one_outage_logged(server)
    assert_nothing_acknowledged_lost(load, admin, app_id)


# -- SQLite on a full disk --------------------------------------------------------------------


def fill(path: Path):
    """Writes zeros to `path` until the file system has no room left."""
    block = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    f.write(block[:size])
            except OSError as e:
                assert e.errno == errno.ENOSPC, e


@pytest.fixture
def small_disk(tmp_path):
    """A 24 MiB tmpfs, mounted for this test."""
    if POSTGRES_URL is not None:
        pytest.skip("runs in the SQLite pass")
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    disk = tmp_path / "small-disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(disk)], check=True)
    yield disk
    subprocess.run(["umount", "--lazy", str(disk)], check=False)


def test_sqlite_on_a_full_disk_answers_503_names_the_disk_and_recovers(start_server, small_disk, tmp_path):
    data = small_disk / "data"
    server = start_server(store="sqlite", data_dir=data, name="full-disk")
    admin = AdminAPI(server)
    form, app_id = secret_client(server, tmp_path, "full-disk-client")
    load = Load(server.base_url, server.tenant, server.ca_file, form, admin).start()
    try:
        load.wait_for_tokens(20)
        fill(small_disk / "filler")
        full = time.monotonic()
        deadline = full + 60
        while not any(o.status == 503 for o in load.outcomes + load.writes if o.at >= full):
            assert time.monotonic() < deadline, f"no 503 within 60 s of a full disk: {load.statuses(full)}"
            time.sleep(0.1)
        time.sleep(2)
        (small_disk / "filler").unlink()
        freed = time.monotonic()
        load.wait_for_tokens(20, timeout=60)
        created = len(load.created)
        deadline = time.monotonic() + 30
        while len(load.created) == created:
            assert time.monotonic() < deadline, f"no application created after the space was freed: {load.statuses(freed)}"
            time.sleep(0.1)
    finally:
        load.stop()
    assert_told_to_retry(load, full, freed)
    print(f"\nfull disk: {load.statuses(full, freed)}; {len(load.issued)} tokens, {len(load.created)} apps acknowledged")
    assert server.running(), "the server exited on a full disk"
    log = assert_one_outage_logged(server)
    assert f"the disk holding {data} is full" in log, log[-3000:]
    assert_nothing_acknowledged_lost(load, admin, app_id)
    assert server.stop() == 0, server.stderr_text()[-3000:]
    assert sqlite_integrity(data) == ("ok", [])


# -- the clock stepped ------------------------------------------------------------------------


def test_clock_stepped_forward_and_back_rotates_once_and_keeps_lifetimes_positive(start_server, tmp_path):
    assert LIBFAKETIME, "libfaketime is missing: apt-get install faketime (scripts/test installs it)"
    clock = tmp_path / "clock"
    clock.write_text("+0\n")
    # The wall clock only: timers and timeouts run on the monotonic clock, which a step leaves alone.
    # FAKETIME_SHARED names nothing that exists (see test_secretless_curve.py).
    env = {"LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": str(clock), "FAKETIME_NO_CACHE": "1",
           "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_SHARED": "/sigil-test-none /sigil-test-none"}
    server = start_server(name="clock-steps", env=env, args=["--key-rotation", "PT5M", "--jwks-max-age", "PT0S"])
    admin = AdminAPI(server)
    form, _ = secret_client(server, tmp_path, "clock-client")
    cli = SigilCli(tmp_path / "clock-profile.json", binary=server.binary)
    cli.login(server)

    def keys() -> dict[str, set[str]]:
        listed = cli.json("keys", "list")["value"]
        return {state: {k["kid"] for k in listed if k["state"] == state} for state in ("active", "next", "retired")}

    def token_times() -> tuple[int, int, int]:
        r = requests.post(server.token_endpoint, data=form, verify=server.ca_file, timeout=15)
        if r.status_code == 401 and "is not valid yet" in r.text:
            # Stepped back to before the secret was made: it is refused (right), so make one now.
            form["client_secret"] = cli.json("app", "secret", "add", "clock-client")["secretText"]
            r = requests.post(server.token_endpoint, data=form, verify=server.ca_file, timeout=15)
        assert r.status_code == 200, f"{r.status_code} {r.text}"
        body = r.json()
        assert body["expires_in"] > 0, body
        token = body["access_token"]
        key = jwt.PyJWKSet.from_dict(server.jwks())[jwt.get_unverified_header(token)["kid"]].key
        # The signature only: the test's own clock is not the server's.
        claims = jwt.decode(token, key, algorithms=["ES256", "RS256"],
                            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False})
        assert claims["exp"] > claims["iat"] >= claims["nbf"], claims
        return claims["iat"], claims["exp"], body["expires_in"]

    def step(offset: str) -> int:
        clock.write_text(offset + "\n")
        time.sleep(0.5)
        return token_times()[0]

    start = keys()
    before = token_times()[0]
    forward = step("+600")  # ten minutes on: both keys are due
    assert forward - before >= 590, (before, forward)
    deadline = time.monotonic() + 45
    while keys()["active"] == start["active"]:
        assert time.monotonic() < deadline, f"no rotation within 45 s of the step forward: {keys()}"
        time.sleep(1)
    time.sleep(12)  # a further key maintenance pass (every 10 s)
    rotated = keys()
    assert len(rotated["active"]) == 2 and not rotated["active"] & start["active"], (start, rotated)
    assert rotated["active"] == start["next"], "the published next keys were promoted, not new ones"

    back = step("-300")  # fifteen minutes back: five before the real time
    assert forward - back >= 600, (forward, back)
    time.sleep(25)  # two key maintenance passes in the past
    assert keys() == rotated, "the step back rotated the keys again"
    again = step("+600")
    assert again - back >= 890
    time.sleep(12)
    assert keys() == rotated, "stepping forward to where the clock already was rotated again"
    assert server.running() and requests.get(f"{server.base_url}/healthz", verify=server.ca_file, timeout=5).status_code == 200
    log = server.stderr_text()
    assert log.count("rotated ES256 signing key") == 1 and log.count("rotated RS256 signing key") == 1, log[-3000:]
    assert "Fatal error" not in log


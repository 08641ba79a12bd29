"""Reliability: `kill -9` the server while eight clients write through the admin API, restart it
on the same data, and check that every acknowledged write survived and nothing is half-written
(DESIGN §9: no acknowledged write is lost when the process is killed)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest
import requests

from conftest import POSTGRES_URL, AdminAPI, app_ref
from fault_support import sqlite_integrity

WRITERS = 8
LOAD_SECONDS = 3.0
SECRETS_PER_APP = 2
MAX_EXTRA_LOAD_SECONDS = 25.0


@dataclass
class Writer:
    index: int
    apps: list[dict] = field(default_factory=list)  # acknowledged (201) applications
    secrets: list[dict] = field(default_factory=list)  # acknowledged (201) password credentials
    attempted_names: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # non-2xx answers while the server was up
    connection_errors: int = 0
    seconds_before_kill_error: float | None = None


STOP = object()


def write_until_dead(admin: AdminAPI, writer: Writer, stop: threading.Event, killed_at: list[float]):
    session = requests.Session()
    n = 0

    def post(path, body):
        try:
            return admin.call("POST", path, body, timeout=15, session=session)
        except requests.Timeout:
            if not killed_at:
                writer.refusals.append(f"POST {path}: no answer within 15 s")
                return "timeout"
            writer.connection_errors += 1
            return None
        except requests.RequestException:
            writer.connection_errors += 1
            if not killed_at:
                writer.seconds_before_kill_error = time.monotonic()
            return None

    def acknowledged(r, what):
        """The created object when the server acknowledged it (201); None to move on; STOP once
        the server has been killed."""
        if r == "timeout":
            return None
        if r is None:
            return STOP if killed_at else None
        if r.status_code != 201:
            writer.refusals.append(f"{what}: {r.status_code} {r.text[:300]}")
            return None
        return r.json()

    while not stop.is_set():
        name = f"kill9-w{writer.index}-{n}"
        n += 1
        writer.attempted_names.append(name)
        app = acknowledged(post("applications", {"displayName": name}), f"POST applications {name}")
        if app is STOP:
            return
        if app is None:
            continue
        writer.apps.append({"objectId": app["objectId"], "appId": app["appId"], "displayName": name})
        for _ in range(SECRETS_PER_APP):
            credential = acknowledged(post(app_ref(app["objectId"]) + "/passwordCredentials", {"lifetime": "P30D"}),
                                      f"POST passwordCredentials {name}")
            if credential is STOP:
                return
            if credential is None:
                continue
            writer.secrets.append({"objectId": app["objectId"], "appId": app["appId"], "keyId": credential["keyId"],
                                   "secretText": credential["secretText"]})


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(
    POSTGRES_URL is None, reason="SIGIL_TEST_POSTGRES_URL is not set"))])
def test_kill9_under_concurrent_admin_writes_loses_no_acknowledged_write(start_server, store):
    server = start_server(store=store, name=f"kill9-{store}")
    key_file = server.admin_key_file
    admin = AdminAPI(server)

    writers = [Writer(i) for i in range(WRITERS)]
    stop = threading.Event()
    killed_at: list[float] = []
    threads = [threading.Thread(target=write_until_dead, args=(admin, w, stop, killed_at), daemon=True) for w in writers]
    for t in threads:
        t.start()
    time.sleep(LOAD_SECONDS)
    acknowledged_in_load_window = sum(len(w.apps) for w in writers)
    # If the server is too slow to have acknowledged much, keep the load on a while longer so the
    # durability check below has something to check (the slowness is asserted on at the end).
    deadline = time.monotonic() + MAX_EXTRA_LOAD_SECONDS
    while sum(len(w.apps) for w in writers) < 4 * WRITERS and time.monotonic() < deadline:
        time.sleep(0.2)
    killed_at.append(time.monotonic())
    server.kill()  # SIGKILL while the writers are mid-request
    assert server.process.returncode == -9, server.process.returncode
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a writer hung after the kill"

    apps = [a for w in writers for a in w.apps]
    secrets = [s for w in writers for s in w.secrets]
    attempted = {n for w in writers for n in w.attempted_names}
    refusals = [r for w in writers for r in w.refusals]
    early_errors = [w.index for w in writers if w.seconds_before_kill_error is not None]
    if not apps:
        pytest.fail(f"no write was acknowledged in {LOAD_SECONDS}s of load, nothing to check; refusals: {refusals[:5]}")
    assert sum(w.connection_errors for w in writers) >= 1, "no writer was cut off: the kill did not land during the load"
    print(f"\n[{store}] acknowledged before SIGKILL: {len(apps)} apps, {len(secrets)} secrets; "
          f"{acknowledged_in_load_window} apps in the first {LOAD_SECONDS}s; {len(refusals)} refusals; writers cut off: {sum(w.connection_errors for w in writers)}")

    # Restart on the same data (and the same database).
    server.start()
    admin = AdminAPI(server, key_file=key_file)

    lost = []
    by_object = {}
    for app in apps:
        r = admin.call("GET", app_ref(app["objectId"]))
        if r.status_code != 200:
            lost.append(f"app {app['displayName']} ({app['objectId']}): GET {r.status_code} {r.text[:200]}")
            continue
        body = r.json()
        if (body["appId"], body["displayName"]) != (app["appId"], app["displayName"]):
            lost.append(f"app {app['objectId']} came back as {body['appId']} / {body['displayName']}")
        by_object[app["objectId"]] = {c["keyId"] for c in body.get("passwordCredentials", [])}
    for secret in secrets:
        if secret["keyId"] not in by_object.get(secret["objectId"], set()):
            lost.append(f"secret {secret['keyId']} of {secret['objectId']} is gone")
    assert not lost, f"{len(lost)} acknowledged writes lost after kill -9:\n" + "\n".join(lost[:40])

    # The acknowledged secrets still authenticate (their hashes were written whole).
    for secret in secrets[:: max(1, len(secrets) // 12)]:
        r = requests.post(server.token_endpoint, verify=server.ca_file, timeout=15, data={
            "grant_type": "client_credentials", "client_id": secret["appId"], "client_secret": secret["secretText"],
            "scope": f"{secret['appId']}/.default"})
        assert r.status_code == 200, f"acknowledged secret {secret['keyId']} no longer works: {r.status_code} {r.text}"

    # Nothing half-written: every app listed reads back whole, with a service principal, and every
    # credential listed belongs to exactly one existing app.
    listed = admin.ok("GET", "applications")["value"]
    listed_ids = [a["objectId"] for a in listed]
    assert len(listed_ids) == len(set(listed_ids)), "an application is listed twice"
    names = [a["displayName"] for a in listed]
    assert len(names) == len(set(names)), "two applications share a display name"
    assert {a["objectId"] for a in apps} <= set(listed_ids), "an acknowledged app is missing from the list"
    owners: dict[str, str] = {}
    half = []
    for summary in listed:
        r = admin.call("GET", app_ref(summary["objectId"]))
        if r.status_code != 200:
            half.append(f"listed app {summary['displayName']} ({summary['objectId']}): GET {r.status_code} {r.text[:200]}")
            continue
        app = r.json()
        if not (app.get("appId") and app.get("servicePrincipalId") and app["objectId"] == summary["objectId"]):
            half.append(f"app {summary['objectId']} is incomplete: {app}")
        by_app_id = admin.call("GET", app_ref(app["appId"]))
        if by_app_id.status_code != 200 or by_app_id.json()["objectId"] != app["objectId"]:
            half.append(f"app {app['objectId']} cannot be found by its appId {app['appId']}: {by_app_id.status_code}")
        if app["displayName"].startswith("kill9-") and app["displayName"] not in attempted:
            half.append(f"app {app['displayName']} was never asked for")
        for credential in app.get("passwordCredentials", []) + app.get("keyCredentials", []):
            if credential["keyId"] in owners:
                half.append(f"credential {credential['keyId']} listed under {owners[credential['keyId']]} and {app['objectId']}")
            owners[credential["keyId"]] = app["objectId"]
    assert not half, "half-written state after kill -9:\n" + "\n".join(half[:40])

    # Every change was written with its audit event (one transaction): each acknowledged app and
    # secret has its audit event, and no creation event names an app that does not exist.
    audit = admin.ok("GET", "auditLogs?top=1000")["value"]
    created = {e["targetResources"][0]["id"] for e in audit if e["activityDisplayName"] == "application.create"
               and e["result"] == "success"}
    secret_events = {(e["targetResources"][0]["id"], (e.get("after") or {}).get("keyId")) for e in audit
                     if e["activityDisplayName"] == "application.passwordCredential.add" and e["result"] == "success"}
    if len(audit) < 1000:  # the whole history fits in one page
        missing = [a["objectId"] for a in apps if a["objectId"] not in created]
        assert not missing, f"acknowledged apps without an audit event: {missing[:10]}"
        missing = [s["keyId"] for s in secrets if (s["objectId"], s["keyId"]) not in secret_events]
        assert not missing, f"acknowledged secrets without an audit event: {missing[:10]}"
    orphans = created - set(listed_ids)
    assert not orphans, f"audit events for applications that do not exist: {sorted(orphans)[:10]}"

    rc = server.stop()
    assert rc == 0, f"sigil serve exited {rc} on SIGTERM after the restart:\n{server.stderr_text()[-3000:]}"
    if store == "sqlite":
        integrity, foreign = sqlite_integrity(server.data_dir)
        assert integrity == "ok", integrity
        assert foreign == [], f"foreign key violations: {foreign[:10]}"

    # Last, because they are about service rather than durability: while the server was up, none
    # of the eight concurrent writers should have been refused, and the load must have been real.
    assert acknowledged_in_load_window >= 4 * WRITERS, (
        f"only {acknowledged_in_load_window} applications acknowledged in {LOAD_SECONDS}s with {WRITERS} concurrent writers "
        f"(a single writer does ~100/s); refusals: {refusals[:5]}")
    assert not refusals, f"{len(refusals)} admin writes refused under 8 concurrent writers:\n" + "\n".join(refusals[:10])
    assert not early_errors, f"writers {early_errors} lost their connection before the kill"

"""docs/operations.md, tried for real: the systemd units, nginx in front with the client's address
in the sign-in log, backup and restore under write load (SQLite and PostgreSQL), upgrades that
cannot be undone, and rotating the key-encryption key and the admin key."""

import http.client
import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import POSTGRES_URL, ServerStartError, SigilCli
from proxy_support import free_port, nginx, site

REPO = Path(__file__).resolve().parents[2]


def test_the_systemd_units_verify_and_their_command_lines_start_a_server(sigil_bin, tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    for unit in ("sigil.service", "sigil-agent.service"):
        local = tmp_path / unit
        local.write_text((REPO / "deploy" / unit).read_text().replace("/usr/local/bin/sigil", sigil_bin))
        result = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True)
        assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    # The server's ExecStart, with its data folder and port moved somewhere a test may use.
    exec_start = next(line for line in (REPO / "deploy" / "sigil.service").read_text().splitlines() if line.startswith("ExecStart="))
    args = exec_start.removeprefix("ExecStart=").split()
    args[0] = sigil_bin
    args[args.index("--data") + 1] = str(tmp_path / "data")
    args[args.index("--listen") + 1] = "127.0.0.1:0"
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("Sigil is listening on https://127.0.0.1:")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert json.loads(stderr.splitlines()[-1])["message"].startswith("sigil serve stopped"), "JSON logs, as the unit asks"


# -- nginx ------------------------------------------------------------------------------------


@pytest.fixture
def behind_nginx(start_server, tmp_path):
    """A server behind deploy/nginx-sigil.conf: nginx on 127.0.0.1:PORT with TLS (Sigil's own
    certificate, which names 127.0.0.1), trusted as the only proxy."""
    front = free_port()
    server = start_server(name="proxied", args=["--trusted-proxy", "127.0.0.1", "--issuer-url", f"https://127.0.0.1:{front}"])
    tls = server.data_dir / "tls"
    text = site("nginx-sigil.conf", [
        ("listen 443 ssl;", f"listen 127.0.0.1:{front} ssl;"), ("sigil.example.com", "127.0.0.1"),
        ("/etc/ssl/sigil/fullchain.pem", str(tls / "server.pem")), ("/etc/ssl/sigil/privkey.pem", str(tls / "server-key.pem")),
        ("https://127.0.0.1:8443", f"https://127.0.0.1:{server.port}"), ("/var/lib/sigil/tls/ca.pem", str(tls / "ca.pem"))])
    with nginx(tmp_path / "nginx", text, f"https://127.0.0.1:{front}/healthz", server.ca_file):
        yield server, front


def token_request_from(source: str, port: int, ca_file: str, path: str, body: str, headers: dict | None = None) -> int:
    """POSTs from a chosen loopback source address, as a client elsewhere would connect."""
    context = ssl.create_default_context(cafile=ca_file)
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, source_address=(source, 0), timeout=10)
    connection.request("POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
    status = connection.getresponse().status
    connection.close()
    return status


def test_behind_nginx_the_sign_in_log_records_the_client_not_the_proxy(behind_nginx, tmp_path):
    server, front = behind_nginx
    client_id = str(uuid.uuid4())
    body = f"grant_type=client_credentials&client_id={client_id}&client_secret=x&scope=api%3A%2F%2Fnone%2F.default"
    path = f"/{server.tenant}/oauth2/v2.0/token"
    # Through nginx from 127.0.0.5, claiming to be 198.51.100.1: nginx replaces the claim.
    assert token_request_from("127.0.0.5", front, server.ca_file, path, body, {"X-Forwarded-For": "198.51.100.1"}) in (400, 401)
    # Straight to Sigil from 127.0.0.6 (not a trusted proxy), with the same claim: ignored.
    assert token_request_from("127.0.0.6", server.port, server.ca_file, path, body, {"X-Forwarded-For": "198.51.100.1"}) in (400, 401)
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    events = [e for e in cli.json("logs", "signins")["value"] if e["appId"] == client_id]
    assert sorted(e["ipAddress"] for e in events) == ["127.0.0.5", "127.0.0.6"], events
    # Discovery through nginx names nginx's URL, the issuer the server was told.
    metadata = requests.get(f"https://127.0.0.1:{front}/{server.tenant}/v2.0/.well-known/openid-configuration",
                            verify=server.ca_file, timeout=5).json()
    assert metadata["issuer"] == f"https://127.0.0.1:{front}/{server.tenant}/v2.0"


# -- backup and restore -----------------------------------------------------------------------


class Writer:
    """Creates applications one after another and remembers which the server acknowledged, and
    when: the load a backup runs under."""

    def __init__(self, cli: SigilCli):
        self.cli = cli
        self.acknowledged: list[tuple[float, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            name = f"load-{uuid.uuid4().hex[:10]}"
            if self.cli.run("app", "create", name, check=False).returncode == 0:
                self.acknowledged.append((time.monotonic(), name))

    def __enter__(self):
        self.thread.start()
        while len(self.acknowledged) < 3:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=60)

    def before(self, moment: float) -> list[str]:
        return [name for at, name in self.acknowledged if at < moment]


def under_write_load(cli: SigilCli, take_backup) -> list[str]:
    """Runs `take_backup` while applications are being created; returns those acknowledged
    before it began, which the backup must hold, after checking writes went on during it."""
    with Writer(cli) as load:
        time.sleep(1)
        started = time.monotonic()
        take_backup()
        time.sleep(1)
    must_have = load.before(started)
    assert len(load.acknowledged) > len(must_have) >= 3, "writes went on during the backup"
    return must_have


def names_in(server, tmp_path: Path, key_file: str | None = None) -> set[str]:
    cli = SigilCli(tmp_path / f"restored-{uuid.uuid4().hex[:6]}.json", binary=server.binary)
    cli.login(server, key_file=key_file)
    return {app["displayName"] for app in cli.json("app", "list")["value"]}


def test_an_sqlite_backup_under_write_load_restores_every_acknowledged_write(start_server, sigil_bin, tmp_path):
    server = start_server(store="sqlite", name="backed-up")
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    backup = tmp_path / "backup"
    results = []
    must_have = under_write_load(cli, lambda: results.append(subprocess.run(
        [sigil_bin, "backup", "--data", str(server.data_dir), "--to", str(backup)], capture_output=True, text=True, timeout=120)))
    assert results[0].returncode == 0, results[0].stderr
    assert "the store, the key-encryption key, the admin key, TLS" in results[0].stdout
    assert oct(os.stat(backup).st_mode & 0o777) == "0o700" and oct(os.stat(backup / "kek").st_mode & 0o777) == "0o600"
    with sqlite3.connect(backup / "sigil.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert subprocess.run([sigil_bin, "backup", "--data", str(server.data_dir), "--to", str(backup)],
                          capture_output=True, text=True).returncode != 0, "a backup never overwrites another"

    # Restore: the backup folder, copied into place, is a data folder.
    restored_dir = tmp_path / "restored" / "data"
    shutil.copytree(backup, restored_dir)
    restored = start_server(store="sqlite", name="restored", data_dir=restored_dir)
    assert restored.tenant == server.tenant
    present = names_in(restored, tmp_path)
    missing = [name for name in must_have if name not in present]
    assert not missing, f"{len(missing)} writes acknowledged before the backup began are not in it: {missing[:5]}"
    # The restored server signs with the same keys (the KEK came along) and validators keep working.
    assert set(k["kid"] for k in requests.get(f"{restored.base_url}/{restored.tenant}/discovery/v2.0/keys",
                                              verify=restored.ca_file, timeout=5).json()["keys"]) == server.jwks_kids()


def postgres_tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    if not found:
        pytest.skip(f"{name} is not installed")
    return str(found)


def test_a_postgres_backup_under_write_load_restores_every_acknowledged_write(start_server, tmp_path):
    if not POSTGRES_URL:
        pytest.skip("SIGIL_TEST_POSTGRES_URL is not set")
    database = start_server.new_database()
    kek = __import__("base64").b64encode(os.urandom(32)).decode()
    server = start_server(database=database, env={"SIGIL_KEK": kek}, name="pg-backed-up")
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    dump = tmp_path / "sigil.dump"
    must_have = under_write_load(cli, lambda: subprocess.run(
        [postgres_tool("pg_dump"), "--format=custom", "--file", str(dump), database], check=True, timeout=120))

    target = start_server.new_database()
    subprocess.run([postgres_tool("pg_restore"), "--no-owner", "--dbname", target, str(dump)], check=True, timeout=120)
    restored = start_server(database=target, env={"SIGIL_KEK": kek}, name="pg-restored")
    present = names_in(restored, tmp_path, key_file=server.admin_key_file)
    missing = [name for name in must_have if name not in present]
    assert not missing, f"{len(missing)} writes acknowledged before pg_dump began are not in the dump: {missing[:5]}"


# -- upgrades and rotations -------------------------------------------------------------------


def test_a_store_from_a_later_sigil_is_refused(start_server, tmp_path):
    server = start_server(store="sqlite", name="upgraded")
    assert server.stop() == 0
    with sqlite3.connect(server.data_dir / "sigil.sqlite") as db:
        db.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)")
    with pytest.raises(ServerStartError) as refused:
        server.start()
    assert "schema is at version 999, newer than this sigil knows" in str(refused.value)


def test_rotating_the_kek_keeps_the_signing_keys(start_server, sigil_bin, tmp_path):
    server = start_server(store="sqlite", name="kek")
    kids = server.jwks_kids()
    old_kek = (server.data_dir / "kek").read_text()
    refused = subprocess.run([sigil_bin, "kek", "rotate", "--data", str(server.data_dir)], capture_output=True, text=True)
    assert refused.returncode != 0 and "another sigil process is serving the SQLite store" in refused.stderr, refused.stderr
    assert server.stop() == 0

    rotated = subprocess.run([sigil_bin, "kek", "rotate", "--data", str(server.data_dir)], capture_output=True, text=True)
    assert rotated.returncode == 0 and "Re-sealed 4 signing keys" in rotated.stdout, rotated.stdout + rotated.stderr
    new_kek = (server.data_dir / "kek").read_text()
    assert new_kek != old_kek and new_kek.strip() not in rotated.stdout
    assert oct(os.stat(server.data_dir / "kek").st_mode & 0o777) == "0o600"
    assert not (server.data_dir / "kek.new").exists()
    server.start()
    assert server.jwks_kids() == kids
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)  # a token signed with a re-sealed key
    assert server.stop() == 0

    # The old key no longer opens them.
    server.extra_env = {"SIGIL_KEK": old_kek.strip()}
    with pytest.raises(ServerStartError) as wrong:
        server.start()
    assert "does not open with this key-encryption key" in str(wrong.value)


def test_rotating_the_kek_held_in_the_environment_prints_the_new_one_once(start_server, sigil_bin, tmp_path):
    kek = __import__("base64").b64encode(os.urandom(32)).decode()
    server = start_server(store="sqlite", name="kek-env", env={"SIGIL_KEK": kek})
    assert server.stop() == 0
    rotated = subprocess.run([sigil_bin, "kek", "rotate", "--data", str(server.data_dir)], capture_output=True, text=True,
                             env=dict(os.environ, SIGIL_KEK=kek))
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip().splitlines()[-1]
    assert new != kek and rotated.stdout.count(new) == 1 and not (server.data_dir / "kek").exists()
    server.extra_env = {"SIGIL_KEK": new}
    server.start()
    assert server.stop() == 0


def test_rotating_the_admin_key_retires_the_old_one(start_server, tmp_path):
    server = start_server(name="admin-key")
    key = tmp_path / "admin-key.json"
    shutil.copy(server.admin_key_file, key)
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server, key_file=str(key))
    old = json.loads(key.read_text())
    result = cli.run("admin-key", "rotate")
    assert "the old key (kid " in result.stdout
    new = json.loads(key.read_text())
    assert new["kid"] != old["kid"] and new["privateKey"] not in result.stdout
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    assert cli.json("app", "list")["value"], "the profile signs in with the new key"
    kids = [k["kid"] for k in cli.json("app", "show", old["clientId"])["keyCredentials"]]
    assert kids == [new["kid"]]
    # The old key no longer signs in.
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(old))
    again = SigilCli(tmp_path / "stale-profile.json", binary=server.binary)
    refused = again.run("login", "--server", server.base_url, "--ca", server.ca_file, "--key", str(stale), check=False)
    assert refused.returncode != 0 and "cannot sign in" in refused.stderr, refused.stderr


def test_health_and_readiness(start_server):
    server = start_server(name="health")
    assert requests.get(f"{server.base_url}/healthz", verify=server.ca_file, timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{server.base_url}/readyz", verify=server.ca_file, timeout=5).json() == {"status": "ready"}


def test_readiness_fails_while_the_database_is_gone_and_liveness_does_not(start_server):
    if not POSTGRES_URL:
        pytest.skip("SIGIL_TEST_POSTGRES_URL is not set")
    database = start_server.new_database()
    server = start_server(database=database, name="unready")
    name = database.rsplit("/", 1)[1]
    start_server._databases._psql(f'DROP DATABASE "{name}" WITH (FORCE)')
    ready = requests.get(f"{server.base_url}/readyz", verify=server.ca_file, timeout=30)
    assert ready.status_code == 503 and ready.json() == {"status": "store unavailable"}
    assert requests.get(f"{server.base_url}/healthz", verify=server.ca_file, timeout=5).status_code == 200

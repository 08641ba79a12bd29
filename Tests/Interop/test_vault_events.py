"""Vault events (issue 11, "rotating what Sigil did not issue"): a rotation function written for
Azure Key Vault's Event Grid events, behind a small HTTP server, keeps a real PostgreSQL role's
password rotated through the vault, driven by the `sigil` CLI as an operator would drive it.

The function is the usual Key Vault pattern: on `SecretNearExpiry` it writes a new random password
as a new version of the secret; on `SecretNewVersionCreated` it reads that version and applies it
to the database role. It checks every delivery's HMAC signature before acting on it.

PostgreSQL for the role is a throwaway server this test starts (scripts/postgres.sh) with
password authentication for the role, whatever store Sigil runs on.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
from psycopg import sql
import pytest

from conftest import SigilCli
from helpers import verify_webhook as verify, wait_for

REPO = Path(__file__).resolve().parents[2]
ROLE = "app_user"
EVENT_FLAGS = ["--vault-event-poll", "PT0.2S", "--vault-event-scan", "PT1S", "--vault-event-retry", "PT0.2S"]


# --------------------------------------------------------------------------------------------
# A database whose role logs in with a password


@pytest.fixture(scope="module")
def database():
    """A PostgreSQL server of the test's own, with scram-sha-256 for ROLE (everything else trusted)."""
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pytest.skip("PostgreSQL's server binaries (Debian package postgresql) are not installed")
    # Outside pytest's private temporary folder: the server runs as the postgres user, which must reach it.
    parent = Path(tempfile.mkdtemp(prefix="sigil-role-pg-"))
    parent.chmod(0o755)
    folder = parent / "pg"
    url = subprocess.run([str(REPO / "scripts/postgres.sh"), "start", str(folder)], check=True, capture_output=True, text=True,
                         timeout=120).stdout.strip()
    try:
        hba = folder / "data" / "pg_hba.conf"
        hba.write_text(f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_reload_conf()")
        yield url
    finally:
        subprocess.run([str(REPO / "scripts/postgres.sh"), "stop", str(folder)], capture_output=True, timeout=60)
        shutil.rmtree(parent, ignore_errors=True)


def logs_in(url: str, password: str) -> bool:
    port = url.rsplit(":", 1)[1].split("/")[0]
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user=ROLE, password=password, dbname="postgres", connect_timeout=5) as c:
            return c.execute("SELECT current_user").fetchone()[0] == ROLE
    except psycopg.OperationalError as e:
        assert "password authentication failed" in str(e), e
        return False


# --------------------------------------------------------------------------------------------
# The rotation function behind its webhook


class RotationFunction:
    """A webhook receiver running a Key Vault rotation function for one secret and one role."""

    def __init__(self, cli: SigilCli, vault: str, database_url: str):
        self.cli = cli
        self.vault = vault
        self.database_url = database_url
        self.key = ""
        self.events: list[dict] = []
        self.refused = 0
        self.errors: list[str] = []
        self.handled_ids: set[str] = set()
        self.lock = threading.Lock()
        function = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not verify(function.key, self.headers.get("X-Sigil-Signature"), body):
                    with function.lock:
                        function.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                try:
                    assert self.headers["aeg-event-type"] == "Notification"
                    for event in json.loads(body):
                        function.handle(event)
                    self.send_response(200)
                except Exception as e:  # the function failed: Event Grid (and Sigil) retry
                    with function.lock:
                        function.errors.append(repr(e))
                    self.send_response(500)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/rotate"

    def handle(self, event: dict):
        data = event["data"]
        assert event["topic"].endswith(f"/providers/Microsoft.KeyVault/vaults/{self.vault}"), event
        assert data["VaultName"] == self.vault and data["ObjectType"] == "Secret" and data["ObjectName"] == event["subject"], event
        assert data["Id"].endswith(f"/secrets/{event['subject']}/{data['Version']}"), event
        with self.lock:
            if event["id"] in self.handled_ids:  # at-least-once delivery: drop a redelivery
                return
        if event["eventType"] == "Microsoft.KeyVault.SecretNearExpiry":
            # Rotate: a new password, as a new version that expires in 60 days.
            set_secret(self.cli, self.vault, event["subject"], secrets.token_urlsafe(24), expires_in=timedelta(days=60))
        elif event["eventType"] == "Microsoft.KeyVault.SecretNewVersionCreated":
            # Apply the new version to the role.
            password = get_secret(self.cli, self.vault, event["subject"], data["Version"])
            with psycopg.connect(self.database_url, autocommit=True) as admin:
                admin.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(password)))
        with self.lock:
            self.handled_ids.add(event["id"])
            self.events.append(event)

    def types(self) -> list[str]:
        with self.lock:
            return [e["eventType"].rsplit(".", 1)[1] for e in self.events]

    def stop(self):
        self.server.shutdown()


# --------------------------------------------------------------------------------------------
# The vault, through the CLI


def set_secret(cli: SigilCli, vault: str, name: str, value: str, expires_in: timedelta | None = None) -> dict:
    """`sigil vault secret set`, the value on standard input (never an argument)."""
    args = [cli.binary, "vault", "secret", "set", f"{vault}/{name}", "--json"]
    if expires_in is not None:
        args += ["--expires", (datetime.now(timezone.utc) + expires_in).strftime("%Y-%m-%dT%H:%M:%SZ")]
    r = subprocess.run(args, input=value, capture_output=True, text=True, timeout=60, env=dict(os.environ, SIGIL_PROFILE=str(cli.profile)))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def get_secret(cli: SigilCli, vault: str, name: str, version: str | None = None) -> str:
    return cli.json("vault", "secret", "get", "/".join([vault, name] + ([version] if version else [])))["value"]


# --------------------------------------------------------------------------------------------


def test_webhook_urls_are_guarded_and_the_error_is_one_line(start_server, tmp_path):
    server = start_server(name="events-guard")
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    cli.run("vault", "create", "guarded")
    for url, says in [("http://rotate.example.com/hook", "must be https://"), ("https://127.0.0.1:9/hook", "allowPrivateNetwork")]:
        r = cli.run("vault", "events", "add", "guarded", "--url", url, check=False)
        assert r.returncode == 1 and r.stdout == "", r
        assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1 and says in r.stderr, r.stderr
    r = cli.run("vault", "events", "add", "guarded", "--url", "https://127.0.0.1:9/hook", "--secret-name", "db_*",
                "--allow-private-network", check=False)
    assert r.returncode == 1 and "wildcards" in r.stderr, r.stderr
    assert cli.json("vault", "events", "list", "guarded") == {"value": []}


def test_a_rotation_function_keeps_a_postgres_role_password_rotated(start_server, database, tmp_path):
    server = start_server(name="events", args=EVENT_FLAGS)
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    cli.run("vault", "create", "payments")
    function = RotationFunction(cli, "payments", database)
    try:
        added = cli.json("vault", "events", "add", "payments", "--url", function.url, "--secret-name", "DB-*",
                         "--allow-private-network")
        function.key = added["secret"]
        assert added["secretName"] == "DB-*" and added["nearExpiry"] == "P30D"
        listed = cli.json("vault", "events", "list", "payments")["value"]
        assert [s["id"] for s in listed] == [added["id"]] and "secret" not in listed[0]
        # The plain-text listing names the subscription and never the key.
        table = cli.run("vault", "events", "list", "payments").stdout
        assert added["id"] in table and function.key not in table

        # The database's password today, in the vault, expiring in ten days: within the 30-day lead.
        first = secrets.token_urlsafe(24)
        with psycopg.connect(database, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(first)))
        assert logs_in(database, first)
        set_secret(cli, "payments", "db-password", first, expires_in=timedelta(days=10))
        set_secret(cli, "payments", "api-key", "not for this function")  # outside DB-*: never delivered

        # NewVersionCreated (applied), NearExpiry (rotated), then the rotated version's NewVersionCreated.
        wait_for(lambda: function.types().count("SecretNewVersionCreated") >= 2, what=f"the rotation, got {function.types()} {function.errors}")
        rotated = get_secret(cli, "payments", "db-password")
        assert rotated != first
        assert logs_in(database, rotated), "the role takes the rotated password"
        assert not logs_in(database, first), "the old password no longer works"

        # Someone sets a new password by hand: the function applies it too.
        by_hand = secrets.token_urlsafe(24)
        set_secret(cli, "payments", "db-password", by_hand, expires_in=timedelta(days=90))
        wait_for(lambda: function.types().count("SecretNewVersionCreated") >= 3, what=f"the manual version, got {function.types()}")
        assert logs_in(database, by_hand) and not logs_in(database, rotated)

        # Each event once: the near expiry of the first version only (later versions expire in 60+ days).
        time.sleep(2)  # two more scans
        assert sorted(function.types()) == ["SecretNearExpiry"] + ["SecretNewVersionCreated"] * 3, function.types()
        assert all(e["subject"] == "db-password" for e in function.events)
        assert function.refused == 0 and function.errors == []
        assert cli.json("vault", "events", "dead-letters", "payments", added["id"]) == {"value": []}

        cli.run("vault", "events", "remove", "payments", added["id"])
        assert cli.json("vault", "events", "list", "payments") == {"value": []}
    finally:
        function.stop()

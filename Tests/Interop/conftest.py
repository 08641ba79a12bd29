"""Fixtures for the interop and reliability suite: real `sigil serve` processes, the admin CLI,
and a small direct admin-API client.

Environment:
  SIGIL_BIN                 the sigil executable (default: .build/debug/sigil in this repository)
  SIGIL_TEST_POSTGRES_URL   postgres://USER[:PASSWORD]@HOST[:PORT]/DB of a server the suite may
                            create databases on; every server the suite starts then gets a fresh
                            database there instead of SQLite (and the replica tests run).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pytest
import requests

SIGIL_BIN = os.environ.get("SIGIL_BIN", str(Path(__file__).resolve().parents[2] / ".build/debug/sigil"))
POSTGRES_URL = os.environ.get("SIGIL_TEST_POSTGRES_URL") or None

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ADMIN_SCOPE = "api://sigil-admin/.default"

requires_postgres = pytest.mark.skipif(POSTGRES_URL is None, reason="SIGIL_TEST_POSTGRES_URL is not set")


# --------------------------------------------------------------------------------------------
# The server process


class ServerStartError(RuntimeError):
    pass


@dataclass
class SigilServer:
    """One `sigil serve` process on 127.0.0.1:0, with what it printed on start."""

    data_dir: Path
    database: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    binary: str = SIGIL_BIN
    name: str = "sigil"
    listen: str = "127.0.0.1:0"  # a fixed port keeps the URL across restarts (the agent's outage test)
    extra_args: list[str] = field(default_factory=list)  # more `sigil serve` flags
    # A new tenant is secretless (its default app management policy refuses client secrets).
    # Most tests add secrets, so on its first start the fixture opts out once, as an administrator
    # would with `sigil policy app set --allow-secrets`; tests of the secretless default pass False.
    allow_secrets: bool = True

    process: subprocess.Popen | None = None
    base_url: str = ""
    tenant: str = ""
    authority: str = ""
    ca_file: str = ""
    admin_key_file: str | None = None
    stdout_lines: list[str] = field(default_factory=list)

    def __post_init__(self):
        self._cond = threading.Condition()
        self._secrets_allowed = False
        self._stderr_path = self.data_dir.parent / f"{self.data_dir.name}.{self.name}.stderr.log"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "SigilServer":
        assert self.process is None or self.process.poll() is not None, "already running"
        self.stdout_lines = []
        args = [self.binary, "serve", "--data", str(self.data_dir), "--listen", self.listen]
        if self.database:
            args += ["--database", self.database]
        args += self.extra_args
        env = dict(os.environ)
        env.update(self.extra_env)
        stderr = open(self._stderr_path, "ab")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, env=env)
        stderr.close()
        threading.Thread(target=self._drain_stdout, args=(self.process,), daemon=True).start()

        deadline = time.monotonic() + START_TIMEOUT
        with self._cond:
            while not any(line.startswith("  trust CA:") for line in self.stdout_lines):
                if self.process.poll() is not None:
                    raise ServerStartError(f"sigil serve exited with {self.process.returncode} before it was ready:\n{self.stderr_text()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    raise ServerStartError(f"sigil serve printed no banner within {START_TIMEOUT}s:\n{self.stdout_lines}\n{self.stderr_text()}")
                self._cond.wait(min(remaining, 0.2))
            # The banner is printed in one write; give the optional admin CLI line a moment.
            self._cond.wait_for(lambda: any(l.startswith("  admin CLI:") for l in self.stdout_lines), timeout=0.5)
            banner = list(self.stdout_lines)
        self._parse_banner(banner)
        if self.allow_secrets and not self._secrets_allowed and self.admin_key_file:
            self._allow_secrets()
        return self

    def _allow_secrets(self):
        """Lifts the new tenant's block on client secrets through the admin API (audited as
        defaultAppManagementPolicy.allowSecrets), asking the listener itself: behind a proxy the
        issuer's URL may not answer yet."""
        token = admin_token(self, self.admin_key_file, endpoint=f"{self.base_url}/{self.tenant}/oauth2/v2.0/token")
        r = requests.patch(f"{self.base_url}/admin/v1/policies/defaultAppManagementPolicy", verify=self.ca_file, timeout=30,
                           headers={"Authorization": f"Bearer {token}"},
                           json={"applicationRestrictions": {"passwordCredentials": [], "keyCredentials": []}})
        assert r.status_code == 200, f"allowing secrets failed: {r.status_code} {r.text}"
        self._secrets_allowed = True

    def _drain_stdout(self, process: subprocess.Popen):
        for raw in process.stdout:
            with self._cond:
                self.stdout_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _parse_banner(self, lines: list[str]):
        fields = {}
        for line in lines:
            m = re.match(r"^Sigil is listening on (https://\S+)$", line)
            if m:
                fields["base"] = m.group(1)
            m = re.match(r"^  (issuer URL|tenant|authority|trust CA|admin CLI):\s+(.*)$", line)
            if m:
                fields[m.group(1)] = m.group(2).strip()
        missing = {"base", "tenant", "authority", "trust CA"} - fields.keys()
        assert not missing, f"banner lacks {missing}: {lines}"
        self.base_url = fields["base"]
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+", self.base_url), self.base_url
        assert int(self.base_url.rsplit(":", 1)[1]) > 0, "port 0 must be replaced by the bound port"
        self.tenant = fields["tenant"]
        self.authority = fields["authority"]
        # Behind a proxy (--issuer-url) the authority is the issuer's; base_url stays the listener.
        assert self.authority == f"{fields.get('issuer URL', self.base_url)}/{self.tenant}", (self.authority, fields)
        self.ca_file = fields["trust CA"]
        assert Path(self.ca_file).is_file(), self.ca_file
        self.admin_key_file = None
        if "admin CLI" in fields:
            m = re.search(r"--key (\S+)", fields["admin CLI"])
            assert m, fields["admin CLI"]
            self.admin_key_file = m.group(1)
            assert f"--server {fields.get('issuer URL', self.base_url)}" in fields["admin CLI"], fields["admin CLI"]

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then wait; returns the exit status. Raises AssertionError if it hangs."""
        assert self.process is not None
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"sigil serve (pid {self.process.pid}) did not exit within {timeout}s of SIGTERM")

    def kill(self):
        """SIGKILL: no chance to flush or close anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stderr_text(self) -> str:
        try:
            return self._stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- derived URLs ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def token_endpoint(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def issuer(self) -> str:
        return f"{self.authority}/v2.0"

    @property
    def discovery_url(self) -> str:
        return f"{self.authority}/v2.0/.well-known/openid-configuration"

    @property
    def jwks_url(self) -> str:
        return f"{self.authority}/discovery/v2.0/keys"

    def jwks(self) -> dict:
        r = requests.get(self.jwks_url, verify=self.ca_file, timeout=10)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def jwks_kids(self) -> set[str]:
        return {k["kid"] for k in self.jwks()["keys"]}


# --------------------------------------------------------------------------------------------
# The admin CLI


class CliError(AssertionError):
    pass


class SigilCli:
    """`sigil` subcommands with a profile of their own (never ~/.sigil), and `env` added to the
    environment they run in."""

    def __init__(self, profile: Path, binary: str = SIGIL_BIN, env: dict[str, str] | None = None):
        self.profile = profile
        self.binary = binary
        self.env = env or {}

    def run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        env = dict(os.environ, **self.env, SIGIL_PROFILE=str(self.profile))
        result = subprocess.run([self.binary, *args], capture_output=True, text=True, env=env, timeout=timeout)
        if check and result.returncode != 0:
            raise CliError(f"sigil {' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def json(self, *args: str):
        out = self.run(*args, "--json").stdout
        try:
            return json.loads(out)
        except json.JSONDecodeError as e:
            raise CliError(f"sigil {' '.join(args)} --json printed no JSON: {out!r}") from e

    def login(self, server: SigilServer, key_file: str | None = None, ca_file: str | None = None):
        key = key_file or server.admin_key_file
        assert key, "no admin key to log in with"
        return self.run("login", "--server", server.base_url, "--ca", ca_file or server.ca_file, "--key", key)


# --------------------------------------------------------------------------------------------
# The admin API, called directly (the reliability tests drive it from many threads)


def admin_token(server: SigilServer, key_file: str, ca_file: str | None = None, endpoint: str | None = None) -> str:
    """A token for api://sigil-admin/.default, from an ES256 assertion signed with the admin key
    (posted to `endpoint`, by default the token endpoint the issuer names)."""
    key = json.loads(Path(key_file).read_text())
    now = int(time.time())
    assertion = jwt.encode(
        {"iss": key["clientId"], "sub": key["clientId"], "aud": server.token_endpoint, "iat": now, "nbf": now,
         "exp": now + 300, "jti": str(uuid.uuid4())},
        key["privateKey"], algorithm="ES256", headers={"kid": key["kid"]})
    r = requests.post(endpoint or server.token_endpoint, verify=ca_file or server.ca_file, timeout=30, data={
        "grant_type": "client_credentials", "client_id": key["clientId"], "scope": ADMIN_SCOPE,
        "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion})
    assert r.status_code == 200, f"admin token refused: {r.status_code} {r.text}"
    return r.json()["access_token"]


class AdminAPI:
    def __init__(self, server: SigilServer, key_file: str | None = None, ca_file: str | None = None):
        self.server = server
        self.key_file = key_file or server.admin_key_file
        self.ca_file = ca_file or server.ca_file
        self.token = admin_token(server, self.key_file, self.ca_file)
        self.session = requests.Session()

    def url(self, path: str) -> str:
        return f"{self.server.base_url}/admin/v1/{path.lstrip('/')}"

    def call(self, method: str, path: str, body=None, timeout: float = 30, session: requests.Session | None = None) -> requests.Response:
        return (session or self.session).request(
            method, self.url(path), json=body, timeout=timeout, verify=self.ca_file,
            headers={"Authorization": f"Bearer {self.token}"})

    def ok(self, method: str, path: str, body=None, status: int | None = None):
        r = self.call(method, path, body)
        assert (r.status_code == status) if status else (200 <= r.status_code < 300), f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


def app_ref(reference: str) -> str:
    return "applications/" + urllib.parse.quote(reference, safe="")


# --------------------------------------------------------------------------------------------
# PostgreSQL databases


class PostgresDatabases:
    """Creates a fresh database per server on the SIGIL_TEST_POSTGRES_URL server; drops them at the end."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.created: list[str] = []
        if shutil.which("psql") is None:
            raise RuntimeError("SIGIL_TEST_POSTGRES_URL is set but psql is not on PATH")

    def _psql(self, sql: str):
        r = subprocess.run(["psql", self.admin_url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                           capture_output=True, text=True, timeout=60, env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {r.stderr}")
        return r.stdout

    def create(self) -> str:
        name = f"sigil_interop_{int(time.time())}_{secrets.token_hex(4)}"
        self._psql(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        parts = urllib.parse.urlsplit(self.admin_url)
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))

    def drop_all(self):
        for name in self.created:
            try:
                self._psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except RuntimeError as e:
                print(f"warning: {e}")


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def sigil_bin() -> str:
    if not (os.path.isfile(SIGIL_BIN) and os.access(SIGIL_BIN, os.X_OK)):
        pytest.exit(f"SIGIL_BIN {SIGIL_BIN} is not an executable file", returncode=2)
    return SIGIL_BIN


class ServerFactory:
    """start(store='default'|'sqlite'|'postgres', database=URL, env=..., data_dir=...).

    'default' is PostgreSQL when SIGIL_TEST_POSTGRES_URL is set, else SQLite; each server gets a
    database of its own unless one is given (replicas share one from new_database())."""

    def __init__(self, binary: str, tmp_path_factory):
        self.binary = binary
        self.tmp_path_factory = tmp_path_factory
        self.started: list[SigilServer] = []
        self._databases: PostgresDatabases | None = None

    def new_database(self) -> str:
        if POSTGRES_URL is None:
            pytest.skip("SIGIL_TEST_POSTGRES_URL is not set")
        if self._databases is None:
            self._databases = PostgresDatabases(POSTGRES_URL)
        return self._databases.create()

    def __call__(self, store: str = "default", database: str | None = None, env: dict | None = None,
                 data_dir: Path | None = None, name: str = "sigil", listen: str = "127.0.0.1:0",
                 args: list[str] | None = None, allow_secrets: bool = True) -> SigilServer:
        if database is None and (store == "postgres" or (store == "default" and POSTGRES_URL)):
            database = self.new_database()
        data_dir = data_dir or (self.tmp_path_factory.mktemp(name) / "data")
        server = SigilServer(data_dir=data_dir, database=database, extra_env=env or {}, binary=self.binary, name=name,
                             listen=listen, extra_args=args or [], allow_secrets=allow_secrets)
        server.start()
        self.started.append(server)
        return server

    def shutdown(self) -> list[str]:
        problems = []
        for server in self.started:
            if server.running():
                try:
                    rc = server.stop()
                except AssertionError as e:
                    problems.append(str(e))
                    continue
                if rc != 0:
                    problems.append(f"{server.name} ({server.data_dir}) exited {rc} on SIGTERM:\n{server.stderr_text()[-4000:]}")
        if self._databases is not None:
            self._databases.drop_all()
        return problems


@pytest.fixture(scope="session")
def start_server(sigil_bin, tmp_path_factory):
    """The server factory. Every server still running at the end of the session is stopped with
    SIGTERM and must exit 0 within 10 s; the databases created for them are dropped."""
    factory = ServerFactory(sigil_bin, tmp_path_factory)
    yield factory
    problems = factory.shutdown()
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def sigil(start_server):
    """The shared server for the client tests. Its CA is trusted process-wide through
    REQUESTS_CA_BUNDLE (azure-identity, msal and Authlib all use requests)."""
    # Resource servers are told not to cache its JWKS, so the key-rotation tests may rotate at
    # once (test_hardening checks the default's refusal).
    server = start_server(name="shared", args=["--jwks-max-age", "PT0S"])
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = server.ca_file
    yield server
    if previous is None:
        os.environ.pop("REQUESTS_CA_BUNDLE", None)
    else:
        os.environ["REQUESTS_CA_BUNDLE"] = previous
    rc = server.stop()
    assert rc == 0, f"sigil serve exited {rc} on SIGTERM:\n{server.stderr_text()[-4000:]}"


@pytest.fixture(scope="session")
def cli(sigil, tmp_path_factory) -> SigilCli:
    """The admin CLI, logged in to the shared server with its bootstrap admin key."""
    c = SigilCli(tmp_path_factory.mktemp("cli") / "profile.json", binary=sigil.binary)
    c.login(sigil)
    return c


def rotate_keys(cli: SigilCli, timeout: float = 30) -> dict:
    """`sigil keys rotate`, retried while the next key is too new to sign (on PostgreSQL a key is
    promotable once every replica has refreshed, even with --jwks-max-age PT0S)."""
    deadline = time.monotonic() + timeout
    while True:
        result = cli.run("keys", "rotate", "--json", check=False)
        if result.returncode == 0:
            return json.loads(result.stdout)
        assert "Rotate again then" in result.stderr and time.monotonic() < deadline, result.stderr
        time.sleep(1)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

"""Managed identities through the host agent: `sigil host create`, `sigil agent enroll`, then
`sigil agent run` serving unmodified azure-identity (sync and async) and msal on its IMDS and App
Service routes, and per-user identities on its Unix socket. Refusals, revocation and a server
outage are checked from the workload's side."""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import SigilCli, b64url
from helpers import sigil_secret_checksum, validate
from oidc_issuer import ConnectionCanary
from secretless_support import (ProtocolHost, assert_refused, child_env, client_token, exchange, issued, principal, run_client,
                                sign_ins, unique, values)
from test_cli import fails

ROLE = "Data.Read"
AGENT_START_TIMEOUT = 30.0
EXCHANGE_RESOURCE = "api://AzureADTokenExchange"


# --------------------------------------------------------------------------------------------
# The agent process


@dataclass
class Agent:
    """`sigil agent run` in the background, with the endpoints its banner announced."""

    binary: str
    state: Path
    socket_path: Path
    process: subprocess.Popen | None = None
    lines: list[str] = field(default_factory=list)
    host_name: str = ""
    tenant: str = ""
    imds: str = ""
    app_service: str = ""
    socket: str = ""

    def start(self) -> "Agent":
        args = [self.binary, "agent", "run", "--state", str(self.state), "--imds", "127.0.0.1:0",
                "--app-service", "127.0.0.1:0", "--socket", str(self.socket_path)]
        self._stderr = self.state.parent / f"{self.state.name}.agent.stderr.log"
        with open(self._stderr, "ab") as stderr:
            self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL)
        self._banner_done = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._banner_done.wait(AGENT_START_TIMEOUT):
            self.stop()
            raise AssertionError(f"sigil agent run printed no full banner in {AGENT_START_TIMEOUT}s: {self.lines}\n{self.stderr_text()}")
        self._parse_banner()
        return self

    def _drain(self):
        for raw in self.process.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            if self.lines[-1].startswith("  socket:"):
                self._banner_done.set()
        self._banner_done.set()

    def _parse_banner(self):
        text = "\n".join(self.lines)
        m = re.search(r"^sigil agent: host (\S+), tenant (\S+)$", text, re.M)
        assert m, f"no 'sigil agent: host NAME, tenant TID' line: {self.lines}\n{self.stderr_text()}"
        self.host_name, self.tenant = m.groups()
        endpoints = dict(re.findall(r"^  (imds|app-service|socket):\s+(\S+)$", text, re.M))
        assert set(endpoints) == {"imds", "app-service", "socket"}, self.lines
        self.imds, self.app_service, self.socket = endpoints["imds"], endpoints["app-service"], endpoints["socket"]
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*", self.imds), self.imds
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*/msi/token", self.app_service), self.app_service
        assert self.socket == str(self.socket_path), self.socket

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def stderr_text(self) -> str:
        return self._stderr.read_text(errors="replace") if self._stderr.exists() else ""

    def endpoints_file(self) -> dict:
        return json.loads((self.state / "endpoints.json").read_text())

    @property
    def identity_header(self) -> str:
        return self.endpoints_file()["identityHeader"]

    def env(self, route: str) -> list[str]:
        """What `sigil agent env --route ROUTE` prints, line by line."""
        out = subprocess.run([self.binary, "agent", "env", "--route", route, "--state", str(self.state)],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return [line for line in out.stdout.splitlines() if line.strip()]

    def env_vars(self, route: str) -> dict:
        return dict(re.fullmatch(r"export ([A-Z_]+)=(\S+)", line).groups() for line in self.env(route))

    # -- the local endpoints, by hand ------------------------------------------------------

    def imds_token(self, resource: str, headers: dict | None = None, **selectors) -> requests.Response:
        return requests.get(f"{self.imds}/metadata/identity/oauth2/token", timeout=30,
                            params={"api-version": "2018-02-01", "resource": resource, **selectors},
                            headers={"Metadata": "true"} if headers is None else headers)

    def app_service_token(self, resource: str, identity_header: str | None = None, **selectors) -> requests.Response:
        header = self.identity_header if identity_header is None else identity_header
        return requests.get(self.app_service, timeout=30, params={"api-version": "2019-08-01", "resource": resource, **selectors},
                            headers={"X-IDENTITY-HEADER": header} if header else {})

    def health(self) -> dict:
        r = requests.get(f"{self.imds}/healthz", timeout=10)
        return r.json()


def enroll(cli: SigilCli, sigil, state: Path, join_token: str) -> subprocess.CompletedProcess:
    return cli.run("agent", "enroll", "--server", sigil.base_url, "--ca", sigil.ca_file, "--join-token", join_token,
                   "--state", str(state), check=False)


def socket_dir() -> Path:
    """A folder other users can reach (pytest's tmp folders are 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="sigil-agent-", dir="/tmp"))
    directory.chmod(0o755)
    return directory


@dataclass
class Host:
    json: dict
    agent: Agent
    state: Path

    @property
    def name(self) -> str:
        return self.json["name"]

    @property
    def system(self) -> dict:
        return self.json["systemAssignedIdentity"]


@pytest.fixture(scope="module")
def hosts(cli, sigil, tmp_path_factory):
    """Factory: host(identities=[MI…]) creates a host, assigns the identities, enrolls with the CLI
    and runs the agent. Agents are stopped at the end of the module."""
    started: list[Agent] = []

    def make(identities=(), server=None, host_cli=None) -> Host:
        server, host_cli = server or sigil, host_cli or cli
        created = host_cli.json("host", "create", unique("host"))
        for mi in identities:
            host_cli.run("mi", "assign", mi["appId"], "--host", created["name"])
        state = tmp_path_factory.mktemp("agent") / "state"
        enrolled = enroll(host_cli, server, state, created["joinToken"])
        assert enrolled.returncode == 0, f"sigil agent enroll: {enrolled.stderr}"
        agent = Agent(host_cli.binary, state, socket_dir() / "agent.sock").start()
        started.append(agent)
        return Host(created, agent, state)

    yield make
    for agent in started:
        agent.stop()


def new_resource(cli) -> dict:
    name = unique("mi-api")
    app = cli.json("app", "create", name, "--identifier-uri", f"api://{name}")
    cli.run("app", "role", "add", name, ROLE)
    app["resource"] = f"api://{name}"
    return app


@dataclass
class World:
    api: dict
    mi_a: dict
    mi_b: dict
    stranger: dict          # a user-assigned identity assigned to no host
    host: Host


@pytest.fixture(scope="module")
def world(cli, hosts) -> World:
    api = new_resource(cli)
    mi_a, mi_b, stranger = (cli.json("mi", "create", unique(n)) for n in ("mi-a", "mi-b", "mi-stranger"))
    host = hosts([mi_a, mi_b])
    for identity in (mi_a["appId"], mi_b["appId"], host.system["appId"]):
        cli.run("app", "grant", identity, api["appId"], ROLE)
    return World(api, mi_a, mi_b, stranger, host)


def check_mi_token(sigil, token: str, api: dict, identity: dict) -> dict:
    """A managed identity's token, as the resource validates it."""
    claims = validate(sigil, token, audience=api["appId"], alg="ES256", client=principal(identity), roles=[ROLE])
    assert claims.get("cred_type") == "managedIdentity", claims
    return claims


# --------------------------------------------------------------------------------------------
# Host creation and enrollment


def test_host_create_gives_a_one_time_join_token(world):
    host = world.host.json
    token = host["joinToken"]
    assert token.startswith("sgj_") and len(token) == 50, token
    assert sigil_secret_checksum(token[4:44]) == token[44:], "the checksum rule of DESIGN §7"
    assert host["appId"] == host["systemAssignedIdentity"]["appId"], host
    assert host["joinTokenExpiresDateTime"], host


def test_host_shows_its_identities(cli, world):
    shown = cli.json("host", "show", world.host.name)
    assert "joinToken" not in shown, "the join token is shown once"
    assigned = {mi["appId"] for mi in shown["userAssignedIdentities"]}
    assert assigned == {world.mi_a["appId"], world.mi_b["appId"]}, shown
    assert shown["enrolledDateTime"], shown
    assert world.host.name in cli.json("mi", "show", world.mi_a["appId"])["hosts"]


def private_key_material(state: Path) -> dict[Path, list[str]]:
    """The private key text in the agent's state folder, per file: PEM bodies and JWK 'd' members."""
    found: dict[Path, list[str]] = {}
    for path in state.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        secrets = []
        for pem in re.findall(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", text, re.S):
            secrets.append("".join(pem.splitlines()[1:-1]))          # the whole base64 body
            key = serialization.load_pem_private_key(pem.encode(), password=None)
            if isinstance(key, ec.EllipticCurvePrivateKey):          # and the scalar, as a JWK 'd' would carry it
                secrets.append(b64url(key.private_numbers().private_value.to_bytes(32, "big")))
        try:
            secrets += [d for d in _jwk_private_members(json.loads(text))]
        except ValueError:
            pass
        if secrets:
            found[path] = secrets
    return found


def _jwk_private_members(document) -> list[str]:
    if isinstance(document, dict):
        own = [document["d"]] if isinstance(document.get("d"), str) and document.get("kty") else []
        return own + [d for value in document.values() for d in _jwk_private_members(value)]
    if isinstance(document, list):
        return [d for value in document for d in _jwk_private_members(value)]
    return []


def test_the_private_key_stays_on_the_host(sigil, cli, world):
    material = private_key_material(world.host.state)
    assert material, f"no private key found in {world.host.state}: {[p.name for p in world.host.state.rglob('*')]}"
    for path in material:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} has mode {oct(path.stat().st_mode)}"
    everything_said = "\n".join([
        cli.run("host", "show", world.host.name, "--json").stdout, cli.run("host", "list", "--json").stdout,
        cli.run("logs", "audit", "--json").stdout, cli.run("logs", "signins", "--json").stdout,
        sigil.stderr_text(), "\n".join(sigil.stdout_lines), "\n".join(world.host.agent.lines), world.host.agent.stderr_text(),
        (world.host.state / "endpoints.json").read_text()])
    for path, secrets in material.items():
        for secret in secrets:
            assert secret not in everything_said, f"private key material from {path.name} was printed or returned"


def test_banner_endpoints_file_and_env(world):
    agent = world.host.agent
    assert agent.host_name == world.host.name
    endpoints_file = world.host.state / "endpoints.json"
    assert stat.S_IMODE(endpoints_file.stat().st_mode) == 0o600
    endpoints = agent.endpoints_file()
    assert endpoints["imds"] == agent.imds and endpoints["appService"] == agent.app_service, endpoints
    assert endpoints["socket"] == agent.socket and endpoints["identityHeader"], endpoints
    assert agent.env("imds") == [f"export AZURE_POD_IDENTITY_AUTHORITY_HOST={agent.imds}"]
    assert agent.env("app-service") == [f"export IDENTITY_ENDPOINT={agent.app_service}",
                                        f"export IDENTITY_HEADER={endpoints['identityHeader']}"]


def test_join_token_is_single_use(cli, sigil, world, tmp_path):
    line = fails(cli, "agent", "enroll", "--server", sigil.base_url, "--ca", sigil.ca_file,
                 "--join-token", world.host.json["joinToken"], "--state", str(tmp_path / "state"))
    assert "join token" in line.lower(), line


def test_join_token_expires(cli, sigil, tmp_path):
    host = cli.json("host", "create", unique("short-lived"), "--join-ttl", "PT1S")
    time.sleep(2.5)
    line = fails(cli, "agent", "enroll", "--server", sigil.base_url, "--ca", sigil.ca_file,
                 "--join-token", host["joinToken"], "--state", str(tmp_path / "state"))
    assert "join token" in line.lower(), line


def test_join_token_with_a_bad_checksum_is_refused_before_any_network_call(cli, sigil, tmp_path):
    token = cli.json("host", "create", unique("typo"))["joinToken"]
    typo = token[:-1] + ("A" if token[-1] != "A" else "B")
    canary = ConnectionCanary()
    try:
        line = fails(cli, "agent", "enroll", "--server", canary.url(""), "--ca", sigil.ca_file,
                     "--join-token", typo, "--state", str(tmp_path / "state"))
        time.sleep(0.3)
        assert canary.connections == 0, "the CLI contacted the server with a token whose checksum is wrong"
    finally:
        canary.stop()
    assert "checksum" in line.lower(), line


def test_enroll_endpoint_refusals(sigil, cli):
    """The server side of enrollment, spoken directly: malformed and bad-checksum tokens are 400,
    used and unknown ones 401, all in the Graph error shape."""
    host = cli.json("host", "create", unique("direct"))
    first = ProtocolHost(sigil)
    assert first.enroll(host["joinToken"]).status_code == 201
    token = host["joinToken"]
    body = token[4:44]
    unknown = "sgj_" + body[::-1] + sigil_secret_checksum(body[::-1])
    for join_token, status in ((token, 401), (unknown, 401), (token[:-1] + ("A" if token[-1] != "A" else "B"), 400),
                               ("not-a-token", 400)):
        r = ProtocolHost(sigil).enroll(join_token)
        assert r.status_code == status, f"{join_token[:8]}…: {r.status_code} {r.text}"
        assert r.json()["error"]["message"], r.text
        assert token not in r.text


# --------------------------------------------------------------------------------------------
# The server's side of the agent protocol, spoken directly (no agent binary involved)


@pytest.fixture
def protocol_host(sigil, cli):
    """A host enrolled by ProtocolHost with one user-assigned identity, and a resource both of its
    identities hold a role on: (host JSON, ProtocolHost, mi, api)."""
    api = new_resource(cli)
    mi = cli.json("mi", "create", unique("mi-direct"))
    host = cli.json("host", "create", unique("direct-host"))
    cli.run("mi", "assign", mi["appId"], "--host", host["name"])
    for identity in (mi["appId"], host["systemAssignedIdentity"]["appId"]):
        cli.run("app", "grant", identity, api["appId"], ROLE)
    agent = ProtocolHost(sigil)
    enrolled = agent.enroll(host["joinToken"])
    assert enrolled.status_code == 201, enrolled.text
    return host, agent, mi, api


def test_protocol_enrollment_answer_and_config(protocol_host):
    host, agent, mi, _ = protocol_host
    enrolled = agent.enrollment
    assert enrolled["hostId"] == host["id"] and enrolled["hostName"] == host["name"], enrolled
    assert enrolled["systemAssignedIdentity"]["appId"] == host["appId"], enrolled
    assert enrolled["tokenEndpoint"].endswith("/oauth2/v2.0/token") and enrolled["kid"], enrolled
    config = agent.config()
    assert config.status_code == 200, config.text
    config = config.json()
    assert config["hostId"] == host["id"], config
    assert [i["appId"] for i in config["userAssignedIdentities"]] == [mi["appId"]], config
    assert isinstance(config["keyRotationSeconds"], int) and config["keyRotationSeconds"] > 0, config


def test_protocol_tokens_and_sign_in_log(sigil, cli, protocol_host):
    host, agent, mi, api = protocol_host
    for identity in (host["systemAssignedIdentity"], mi):
        token = issued(agent.token(identity["appId"], f"{api['resource']}/.default",
                                   caller={"uid": 1234, "gid": 1234, "pid": 42, "path": "/usr/bin/curl", "sha256": "0" * 64}))
        check_mi_token(sigil, token, api, identity)
    events = [e for e in sign_ins(cli, mi["appId"]) if e["status"]["succeeded"]]
    assert events, "no sign-in recorded"
    assert events[0]["clientCredentialType"] == "managedIdentity" and events[0]["hostId"] == host["id"], events[0]
    assert events[0]["callerUid"] == 1234 and events[0]["callerExecutable"] == "/usr/bin/curl", events[0]


def test_protocol_refusals(sigil, cli, protocol_host):
    host, agent, mi, api = protocol_host
    scope = f"{api['resource']}/.default"
    stranger = cli.json("mi", "create", unique("mi-not-here"))
    assert_refused(agent.token(stranger["appId"], scope))
    cli.run("mi", "unassign", mi["appId"], "--host", host["name"])
    assert_refused(agent.token(mi["appId"], scope))
    issued(agent.token(host["systemAssignedIdentity"]["appId"], scope))
    cli.run("host", "remove", host["name"])
    assert_refused(agent.token(host["systemAssignedIdentity"]["appId"], scope))
    assert agent.config().status_code == 401


# --------------------------------------------------------------------------------------------
# Unmodified clients, in child processes with the environment `sigil agent env` prints


AZURE_IDENTITY = """
import os
from azure.identity import ManagedIdentityCredential
client_id = os.environ.get("SIGIL_TEST_MI_CLIENT_ID")
credential = ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
token = credential.get_token(os.environ["SIGIL_TEST_RESOURCE"] + "/.default")
result = {"token": token.token, "expires_on": token.expires_on}
"""

AZURE_IDENTITY_ASYNC = """
import asyncio, os
from azure.identity.aio import ManagedIdentityCredential
async def main():
    client_id = os.environ.get("SIGIL_TEST_MI_CLIENT_ID")
    credential = ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    async with credential:
        token = await credential.get_token(os.environ["SIGIL_TEST_RESOURCE"] + "/.default")
    return {"token": token.token, "expires_on": token.expires_on}
result = asyncio.run(main())
"""

MSAL = """
import os, msal, requests
client_id = os.environ.get("SIGIL_TEST_MI_CLIENT_ID")
identity = msal.UserAssignedManagedIdentity(client_id=client_id) if client_id else msal.SystemAssignedManagedIdentity()
client = msal.ManagedIdentityClient(identity, http_client=requests.Session())
answer = client.acquire_token_for_client(resource=os.environ["SIGIL_TEST_RESOURCE"])
result = {"token": answer["access_token"]} if "access_token" in answer else {"error": "msal", "message": json.dumps(answer)}
"""

CLIENTS = {"azure-identity": AZURE_IDENTITY, "azure-identity-aio": AZURE_IDENTITY_ASYNC, "msal": MSAL}


@pytest.mark.parametrize("route", ["imds", "app-service"])
@pytest.mark.parametrize("which", ["system", "user"])
@pytest.mark.parametrize("client", list(CLIENTS))
def test_managed_identity_clients(sigil, world, client, which, route):
    identity = world.host.system if which == "system" else world.mi_b
    variables = world.host.agent.env_vars(route)
    variables["SIGIL_TEST_RESOURCE"] = world.api["resource"]
    if which == "user":
        variables["SIGIL_TEST_MI_CLIENT_ID"] = identity["appId"]
    result = run_client(CLIENTS[client], child_env(**variables))
    check_mi_token(sigil, client_token(result), world.api, identity)


def test_sign_in_log_shows_the_managed_identity_and_host(sigil, cli, world):
    issued_by_agent = world.host.agent.imds_token(world.api["resource"], client_id=world.mi_a["appId"])
    assert issued_by_agent.status_code == 200, issued_by_agent.text
    events = sign_ins(cli, world.mi_a["appId"])
    mine = [e for e in events if e["status"]["succeeded"] and e.get("hostId") == world.host.json["id"]]
    assert mine, events[:3]
    assert all(e["clientCredentialType"] == "managedIdentity" for e in mine), mine[:3]


def test_imds_answer_shape(world):
    r = world.host.agent.imds_token(world.api["resource"], object_id=world.mi_a["objectId"])
    assert r.status_code == 200, r.text
    body = r.json()
    for name in ("access_token", "client_id", "expires_in", "expires_on", "ext_expires_in", "not_before", "resource", "token_type"):
        assert name in body, body
    assert body["token_type"] == "Bearer" and body["client_id"] == world.mi_a["appId"], body
    for number in ("expires_in", "expires_on", "ext_expires_in", "not_before"):
        assert isinstance(body[number], str) and body[number].isdigit(), (number, body[number])
    by_resource_id = world.host.agent.imds_token(world.api["resource"], msi_res_id=world.mi_a["resourceId"])
    assert by_resource_id.status_code == 200 and by_resource_id.json()["client_id"] == world.mi_a["appId"], by_resource_id.text


# --------------------------------------------------------------------------------------------
# Refusals on the local endpoints: 400, never a fallback to the system identity


def assert_local_refusal(response: requests.Response, shape: str = "imds"):
    assert response.status_code == 400, f"{response.status_code} {response.text[:300]}"
    body = response.json()
    assert "access_token" not in body, body
    if shape == "imds":
        assert body.get("error") and body.get("error_description"), body
    else:
        assert body.get("statusCode") == 400 and body.get("message"), body


def test_imds_refusals(world):
    agent, resource = world.host.agent, world.api["resource"]
    assert_local_refusal(agent.imds_token(resource, headers={}))
    assert_local_refusal(agent.imds_token(resource, headers={"Metadata": "false"}))
    assert_local_refusal(agent.imds_token(resource, client_id="00000000-0000-0000-0000-000000000000"))
    assert_local_refusal(agent.imds_token(resource, client_id=world.stranger["appId"]))   # exists, not on this host
    assert_local_refusal(agent.imds_token(resource, object_id=world.stranger["objectId"]))
    assert_local_refusal(agent.imds_token(resource, client_id=world.mi_a["appId"], object_id=world.mi_b["objectId"]))
    assert_local_refusal(agent.imds_token("api://no-such-resource"))


def test_app_service_refusals(world):
    agent, resource = world.host.agent, world.api["resource"]
    assert_local_refusal(agent.app_service_token(resource, identity_header=""), "app-service")
    assert_local_refusal(agent.app_service_token(resource, identity_header="wrong-header"), "app-service")
    assert_local_refusal(agent.app_service_token(resource, client_id=world.stranger["appId"]), "app-service")
    assert_local_refusal(agent.app_service_token("api://no-such-resource"), "app-service")


# --------------------------------------------------------------------------------------------
# The Unix socket: one host, two users, two identities


USERS = ("sigil-it-a", "sigil-it-b", "sigil-it-c")


def ensure_user(name: str) -> int:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
        return pwd.getpwnam(name).pw_uid


def curl_as(user: str, socket_path: str, resource: str) -> tuple[int, dict]:
    out = subprocess.run(["runuser", "-u", user, "--", "curl", "-sS", "--max-time", "30", "--unix-socket", socket_path,
                          "-w", "\n%{http_code}", f"http://localhost/token?resource={resource}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"curl as {user}: {out.stderr}"
    body, _, status = out.stdout.rpartition("\n")
    return int(status), json.loads(body) if body.strip() else {}


@pytest.mark.skipif(os.geteuid() != 0, reason="creating Unix users and running curl as them needs root")
def test_socket_gives_each_user_its_own_identity(sigil, cli, world):
    """Two users, two identities of their own, through the socket; a third user gets nothing. The
    identities are the socket's alone: the loopback endpoints, which cannot tell users apart,
    refuse them."""
    uids = {user: ensure_user(user) for user in USERS}
    socket_a, socket_b = (cli.json("mi", "create", unique(n)) for n in ("mi-socket-a", "mi-socket-b"))
    for mi in (socket_a, socket_b):
        cli.run("mi", "assign", mi["appId"], "--host", world.host.name)
    rules = [cli.json("host", "rule", "add", world.host.name, "--identity", socket_a["appId"], "--uid", str(uids[USERS[0]])),
             cli.json("host", "rule", "add", world.host.name, "--identity", socket_b["appId"], "--uid", str(uids[USERS[1]]))]
    listed = values(cli.json("host", "rule", "list", world.host.name))
    assert {r["id"] for r in rules} <= {r["id"] for r in listed}, listed

    api = new_resource(cli)   # nothing cached for it: the agent asks the server, naming the caller
    for mi in (socket_a, socket_b):
        cli.run("app", "grant", mi["appId"], api["appId"], ROLE)
    socket_path = world.host.agent.socket
    os.chmod(socket_path, 0o666)   # the test's users are strangers to the agent's folder
    deadline = time.monotonic() + 30   # the agent learns new rules from its config
    while True:
        status_a, body_a = curl_as(USERS[0], socket_path, api["resource"])
        if status_a == 200 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert status_a == 200, body_a
    check_mi_token(sigil, body_a["access_token"], api, socket_a)
    status_b, body_b = curl_as(USERS[1], socket_path, api["resource"])
    assert status_b == 200, body_b
    check_mi_token(sigil, body_b["access_token"], api, socket_b)
    status_c, body_c = curl_as(USERS[2], socket_path, api["resource"])
    assert status_c == 400 and "access_token" not in body_c, (status_c, body_c)

    events = [e for e in sign_ins(cli, socket_a["appId"]) if e.get("callerUid") == uids[USERS[0]]]
    assert events and (events[0].get("callerExecutable") or "").endswith("curl"), events[:3]

    loopback = world.host.agent.imds_token(api["resource"], client_id=socket_a["appId"])
    assert loopback.status_code == 400 and "Unix socket" in loopback.json()["error_description"], loopback.text

    # A rule on the executable alone would hand the identity to every user: refused.
    refused = cli.run("host", "rule", "add", world.host.name, "--identity", socket_a["appId"], "--path", "/usr/bin/curl", check=False)
    assert refused.returncode != 0 and "also needs a uid or gid" in refused.stderr, refused.stderr


# --------------------------------------------------------------------------------------------
# Revocation reaches the agent at once


def test_host_remove_stops_new_tokens(sigil, cli, hosts):
    host = hosts()
    first = new_resource(cli)
    assert host.agent.imds_token(first["resource"]).status_code == 200
    cli.run("host", "remove", host.name)
    fresh = new_resource(cli)   # nothing cached for it
    started = time.monotonic()
    assert_local_refusal(host.agent.imds_token(fresh["resource"]))
    assert time.monotonic() - started < 5


def test_mi_unassign_stops_new_tokens(sigil, cli, hosts):
    mi = cli.json("mi", "create", unique("mi-unassigned-later"))
    host = hosts([mi])
    assert host.agent.imds_token(new_resource(cli)["resource"], client_id=mi["appId"]).status_code == 200
    cli.run("mi", "unassign", mi["appId"], "--host", host.name)
    fresh = new_resource(cli)
    started = time.monotonic()
    assert_local_refusal(host.agent.imds_token(fresh["resource"], client_id=mi["appId"]))
    assert time.monotonic() - started < 5
    assert host.agent.imds_token(fresh["resource"]).status_code == 200, "the system identity is still assigned"


# --------------------------------------------------------------------------------------------
# A managed identity's token from the agent as a federated credential


def test_agent_token_as_a_federated_credential(sigil, cli, world):
    answer = world.host.agent.imds_token(EXCHANGE_RESOURCE, client_id=world.mi_a["appId"])
    assert answer.status_code == 200, answer.text
    app = cli.json("app", "create", unique("trusts-agent-mi"))
    cli.json("app", "federated", "add", app["appId"], "--name", "agent-mi", "--issuer", sigil.issuer,
             "--subject", world.mi_a["objectId"])
    token = issued(exchange(sigil, app["appId"], answer.json()["access_token"], f"{world.api['resource']}/.default"))
    claims = validate(sigil, token, audience=world.api["appId"], alg="ES256", client=principal(app))
    assert claims.get("cred_type") == "federatedIdentityCredential", claims
    # mi_b's token is not mi_a's.
    other = world.host.agent.imds_token(EXCHANGE_RESOURCE, client_id=world.mi_b["appId"]).json()["access_token"]
    assert_refused(exchange(sigil, app["appId"], other, f"{world.api['resource']}/.default"), 700213)


# --------------------------------------------------------------------------------------------
# Server outage: cached tokens keep flowing, health says degraded, then recovery


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} within {seconds}s")


def test_outage_serves_cached_tokens_then_recovers(start_server, hosts, tmp_path):
    server = start_server(name="outage", listen=f"127.0.0.1:{free_port()}")
    admin = SigilCli(tmp_path / "profile.json", binary=server.binary)
    admin.login(server)
    host = hosts(server=server, host_cli=admin)
    api = new_resource(admin)
    before = host.agent.imds_token(api["resource"])
    assert before.status_code == 200, before.text
    assert host.agent.health()["status"] == "ok", host.agent.health()

    assert server.stop() == 0
    during = host.agent.imds_token(api["resource"])
    assert during.status_code == 200, f"the cached token was not served during the outage: {during.status_code} {during.text}"
    assert during.json()["access_token"] == before.json()["access_token"]
    host.agent.imds_token("api://not-cached")   # something the agent must ask the server for
    wait_for(lambda: host.agent.health()["status"] == "degraded", 30, "the agent's health did not say degraded")

    server.start()
    assert server.base_url.endswith(f":{server.port}")
    after = new_resource(admin)
    recovered = wait_for(lambda: host.agent.imds_token(after["resource"]).status_code == 200, 60,
                         "the agent did not get a new token after the server came back")
    assert recovered
    wait_for(lambda: host.agent.health()["status"] == "ok", 60, "the agent's health did not return to ok")

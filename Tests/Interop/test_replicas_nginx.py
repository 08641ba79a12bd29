"""Two `sigil serve` replicas on one PostgreSQL behind nginx, run from deploy/nginx-sigil-replicas.conf
(issue 14): clients know only nginx's address. nginx re-encrypts to the replicas and, for the test
only, names the replica that answered in `X-Sigil-Replica`. Skipped unless SIGIL_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import base64
import copy
import os
import threading
import time
import uuid

import jwt
import pytest
import requests

from conftest import CLIENT_ASSERTION_TYPE, POSTGRES_URL, AdminAPI, SigilCli, rotate_keys
from fault_support import Load, missing_apps, sign_in_correlation_ids
from helpers import make_certificate, token_kid
from proxy_support import free_port, nginx, site

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="SIGIL_TEST_POSTGRES_URL is not set")

RESOURCE = "api://behind-nginx"


class Replicas:
    """Two replicas, nginx in front, and `front`: a view of replica A whose every URL is nginx's."""

    def __init__(self, start_server, prefix, name: str):
        self.port = free_port()
        public = f"https://127.0.0.1:{self.port}"
        database = start_server.new_database()
        env = {"SIGIL_KEK": base64.b64encode(os.urandom(32)).decode()}
        args = ["--issuer-url", public, "--trusted-proxy", "127.0.0.1", "--jwks-max-age", "PT0S"]
        self.a = start_server(database=database, env=env, name=f"{name}-a", args=args)
        self.b = start_server(database=database, env=env, name=f"{name}-b", args=args)
        prefix.mkdir(parents=True)
        cas = prefix / "replicas-ca.pem"
        cas.write_text("".join((r.data_dir / "tls" / "ca.pem").read_text().strip() + "\n" for r in (self.a, self.b)))
        tls = self.a.data_dir / "tls"  # nginx shows clients replica A's certificate, which names 127.0.0.1
        self.site = site("nginx-sigil-replicas.conf", [
            ("listen 443 ssl;", f"listen 127.0.0.1:{self.port} ssl;"), ("sigil.example.com", "127.0.0.1"),
            ("server 10.0.0.11:8443", f"server 127.0.0.1:{self.a.port}"), ("server 10.0.0.12:8443", f"server 127.0.0.1:{self.b.port}"),
            ("/etc/ssl/sigil/fullchain.pem", str(tls / "server.pem")), ("/etc/ssl/sigil/privkey.pem", str(tls / "server-key.pem")),
            ("/etc/ssl/sigil/replicas-ca.pem", str(cas)),
            ("proxy_connect_timeout 2s;", "proxy_connect_timeout 2s;\n        add_header X-Sigil-Replica $upstream_addr always;")])
        self.prefix = prefix
        self.front = copy.copy(self.a)
        self.front.base_url = public
        self.names = {f"127.0.0.1:{self.a.port}": "a", f"127.0.0.1:{self.b.port}": "b"}

    def replica(self, response: requests.Response) -> str:
        """Which replica answered: a, b, or both names when nginx tried one and then the other."""
        return "".join(self.names.get(part.strip(), "?") for part in response.headers.get("X-Sigil-Replica", "").split(","))


@pytest.fixture(scope="module")
def replicas(start_server, tmp_path_factory):
    pair = Replicas(start_server, tmp_path_factory.mktemp("nginx-replicas") / "nginx", "behind-nginx")
    with nginx(pair.prefix, pair.site, f"{pair.front.base_url}/healthz", pair.front.ca_file):
        cli = SigilCli(tmp_path_factory.mktemp("behind-nginx-cli") / "profile.json", binary=pair.a.binary)
        cli.login(pair.front)
        cli.json("app", "create", "behind-nginx-api", "--identifier-uri", RESOURCE)
        yield pair, cli, AdminAPI(pair.front)


def token(pair: Replicas, **form) -> requests.Response:
    return requests.post(pair.front.token_endpoint, verify=pair.front.ca_file, timeout=15,
                         data={"grant_type": "client_credentials", "scope": f"{RESOURCE}/.default", **form})


def settled(pair: Replicas, expected: int, **form) -> requests.Response:
    """A token request, repeated until it gets `expected` for up to a second: the other replica
    learns of a change when PostgreSQL's notification arrives, which on a loaded machine can be
    after the next request (docs/scaling.md)."""
    deadline = time.monotonic() + 1.0
    while True:
        reply = token(pair, **form)
        if reply.status_code == expected or time.monotonic() > deadline:
            return reply
        time.sleep(0.02)


def test_a_secret_added_or_removed_at_one_replica_applies_at_the_other_at_once(replicas):
    pair, cli, admin = replicas
    client = cli.json("app", "create", "behind-nginx-secrets")
    path = f"applications/{client['objectId']}/passwordCredentials"
    crossings = set()
    for round_ in range(8):
        if round_ % 2:
            requests.get(f"{pair.front.base_url}/healthz", verify=pair.front.ca_file, timeout=5)  # the other replica writes next
        added = admin.call("POST", path, {"lifetime": "P1D"})
        assert added.status_code == 201, added.text
        secret = added.json()
        issued = settled(pair, 200, client_id=client["appId"], client_secret=secret["secretText"])
        assert issued.status_code == 200, f"added at {pair.replica(added)}, refused at {pair.replica(issued)}: {issued.text}"
        removed = admin.call("DELETE", f"{path}/{secret['keyId']}")
        assert removed.status_code == 204, removed.text
        refused = settled(pair, 401, client_id=client["appId"], client_secret=secret["secretText"])
        assert refused.status_code == 401, \
            f"removed at {pair.replica(removed)}, still honoured at {pair.replica(refused)}: {refused.status_code} {refused.text}"
        crossings |= {(pair.replica(added), pair.replica(issued)), (pair.replica(removed), pair.replica(refused))}
    assert {("a", "b"), ("b", "a")} <= crossings, f"nginx did not send the write and the read to different replicas both ways: {crossings}"


def test_an_assertion_used_at_one_replica_is_refused_at_the_other(replicas, tmp_path):
    pair, cli, _ = replicas
    client = cli.json("app", "create", "behind-nginx-assertions")
    cert = make_certificate(tmp_path, "behind-nginx-assertions")
    cli.json("app", "cert", "add", "behind-nginx-assertions", "--cert", str(cert.cert_file))

    def assertion() -> dict:
        now = int(time.time())
        signed = jwt.encode({"iss": client["appId"], "sub": client["appId"], "aud": pair.front.token_endpoint,
                             "iat": now, "nbf": now, "exp": now + 300, "jti": str(uuid.uuid4())},
                            cert.key_pem, algorithm="RS256", headers={"x5t#S256": cert.x5t_s256})
        return {"client_id": client["appId"], "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": signed}

    form = assertion()
    first = token(pair, **form)
    assert first.status_code == 200, first.text
    replay = token(pair, **form)
    assert pair.replica(replay) != pair.replica(first), "round robin sent both to one replica"
    assert replay.status_code == 401 and replay.json()["error_codes"] == [700023], replay.text

    raced = assertion()
    results: list[int] = []
    barrier = threading.Barrier(8)

    def race():
        barrier.wait()
        results.append(token(pair, **raced).status_code)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [200] + [401] * 7, results


def test_a_rotation_makes_one_key_published_by_both_replicas_before_either_signs_with_it(replicas):
    pair, cli, _ = replicas
    client = cli.json("app", "create", "behind-nginx-rotation")
    secret = cli.json("app", "secret", "add", "behind-nginx-rotation")["secretText"]

    def published() -> dict[str, set[str]]:
        """Each replica's JWKS, asked through nginx until both have answered."""
        seen: dict[str, set[str]] = {}
        for _ in range(6):
            r = requests.get(pair.front.jwks_url, verify=pair.front.ca_file, timeout=10)
            seen[pair.replica(r)] = {k["kid"] for k in r.json()["keys"]}
            if {"a", "b"} <= seen.keys():
                return seen
        raise AssertionError(f"nginx did not reach both replicas: {seen.keys()}")

    def keys() -> list[dict]:
        return cli.json("keys", "list")["value"]

    before = keys()
    upcoming = {k["kid"] for k in before if k["state"] == "next"}
    for replica, kids in published().items():
        assert upcoming <= kids, f"replica {replica} does not publish the next keys {upcoming - kids} before the rotation"
    rotate_keys(cli)

    def one_new_next_key_each(listed: list[dict]) -> bool:
        new = [(k["alg"], k["state"]) for k in listed if k["kid"] not in {b["kid"] for b in before}]
        active = sorted(k["alg"] for k in listed if k["state"] == "active")
        return sorted(new) == [("ES256", "next"), ("RS256", "next")] and active == ["ES256", "RS256"]

    # Each replica lists the keys it has loaded, refreshed from the store every 10 s: both must
    # show the one new key per algorithm (two lists in a row, one from each replica).
    deadline, agreeing = time.monotonic() + 15, 0
    while agreeing < 2:
        listed = keys()
        agreeing = agreeing + 1 if one_new_next_key_each(listed) else 0
        assert time.monotonic() < deadline, f"after one rotation the replicas do not list one new next key per algorithm: {listed}"
        time.sleep(0.2)

    signed_with = set()
    deadline = time.monotonic() + 15  # longer than a replica's key refresh (10 s)
    while time.monotonic() < deadline:
        r = token(pair, client_id=client["appId"], client_secret=secret)
        assert r.status_code == 200, r.text
        kid = token_kid(r.json()["access_token"])
        signed_with.add((pair.replica(r), kid))
        for replica, kids in published().items():
            assert kid in kids, f"replica {pair.replica(r)} signed with {kid}, which replica {replica} does not publish"
        time.sleep(0.5)
    assert {replica for replica, _ in signed_with} == {"a", "b"}, signed_with


def test_the_sign_in_and_audit_logs_hold_every_request_either_replica_served(replicas):
    pair, cli, admin = replicas
    client = cli.json("app", "create", "behind-nginx-logs")
    secret = cli.json("app", "secret", "add", "behind-nginx-logs")["secretText"]
    served = {}
    for _ in range(40):
        correlation = str(uuid.uuid4())
        r = requests.post(pair.front.token_endpoint, verify=pair.front.ca_file, timeout=15,
                          headers={"client-request-id": correlation},
                          data={"grant_type": "client_credentials", "client_id": client["appId"], "client_secret": secret,
                                "scope": f"{RESOURCE}/.default"})
        assert r.status_code == 200, r.text
        served[correlation] = pair.replica(r)
    assert set(served.values()) == {"a", "b"}, served
    missing = set(served) - sign_in_correlation_ids(admin, client["appId"])
    assert not missing, f"{len(missing)} sign-ins missing, served by {[served[c] for c in missing]}"

    written = {}
    for i in range(10):
        correlation = str(uuid.uuid4())
        r = admin.session.post(admin.url("applications"), json={"displayName": f"behind-nginx-audit-{i}"}, verify=admin.ca_file,
                               timeout=15, headers={"Authorization": f"Bearer {admin.token}", "client-request-id": correlation})
        assert r.status_code == 201, r.text
        written[correlation] = pair.replica(r)
    assert set(written.values()) == {"a", "b"}, written
    audited = {e["correlationId"] for e in admin.ok("GET", "auditLogs?top=1000")["value"]}
    missing = set(written) - audited
    assert not missing, f"{len(missing)} audit events missing, written at {[written[c] for c in missing]}"


def test_one_replica_killed_under_load_the_other_keeps_issuing_and_nothing_acknowledged_is_lost(start_server, tmp_path):
    pair = Replicas(start_server, tmp_path / "nginx", "kill-behind-nginx")
    with nginx(pair.prefix, pair.site, f"{pair.front.base_url}/healthz", pair.front.ca_file):
        cli = SigilCli(tmp_path / "profile.json", binary=pair.a.binary)
        cli.login(pair.front)
        cli.json("app", "create", "kill-api", "--identifier-uri", RESOURCE)
        client = cli.json("app", "create", "kill-client")
        secret = cli.json("app", "secret", "add", "kill-client")["secretText"]
        admin = AdminAPI(pair.front)
        form = {"grant_type": "client_credentials", "client_id": client["appId"], "client_secret": secret, "scope": f"{RESOURCE}/.default"}
        load = Load(pair.front.base_url, pair.front.tenant, pair.front.ca_file, form, admin).start()
        try:
            load.wait_for_tokens(30)
            killed = time.monotonic()
            pair.b.kill()
            assert pair.b.process.returncode == -9
            issued_at_kill = len(load.issued)
            load.wait_for_tokens(60, timeout=60)
            time.sleep(max(0.0, killed + 4 - time.monotonic()))  # and a few seconds on the survivor alone
            settled = time.monotonic()
        finally:
            load.stop()
        before, during, after = load.statuses(0, killed), load.statuses(killed, killed + 1), load.statuses(killed + 1)
        print(f"\nbefore the kill {before}; in the second after it {during}; then {after}; "
              f"{len(load.issued) - issued_at_kill} tokens in {settled - killed:.1f}s after it")
        assert set(before) <= {200, 201}, before
        assert set(during) <= {200, 201, 502}, f"only requests the killed replica had taken may fail: {during}"
        assert set(after) == {200, 201}, f"after the kill, the other replica must answer everything: {after}"
        assert pair.a.running()
        missing = missing_apps(admin, load.created)
        assert not missing, f"{len(missing)} of {len(load.created)} acknowledged applications are gone: {missing[:10]}"
        unlogged = set(load.issued) - sign_in_correlation_ids(admin, client["appId"])
        assert not unlogged, f"{len(unlogged)} of {len(load.issued)} issued tokens have no sign-in"

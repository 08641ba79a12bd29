"""Two `sigil serve` replicas on one PostgreSQL database (DESIGN §1: the server is stateless over
its store). Skipped unless SIGIL_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import base64
import os
import threading
import time
import uuid

import jwt
import pytest
import requests

from conftest import POSTGRES_URL, CLIENT_ASSERTION_TYPE, SigilCli, rotate_keys
from helpers import make_certificate, token_kid, validate

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="SIGIL_TEST_POSTGRES_URL is not set")

RESOURCE = "api://replicated"


def jwk_fingerprints(server) -> dict[str, tuple]:
    return {k["kid"]: (k["kty"], k.get("alg"), k.get("n") or k.get("x"), k.get("e") or k.get("y"), k.get("use"))
            for k in server.jwks()["keys"]}


def token_request(server, **form) -> requests.Response:
    return requests.post(server.token_endpoint, verify=server.ca_file, timeout=15,
                         data={"grant_type": "client_credentials", **form})


@pytest.fixture(scope="module")
def replicas(start_server, tmp_path_factory):
    database = start_server.new_database()
    kek = base64.b64encode(os.urandom(32)).decode()
    no_cache = ["--jwks-max-age", "PT0S"]  # the rotation test rotates right after the first start
    a = start_server(database=database, env={"SIGIL_KEK": kek}, name="replica-a", args=no_cache)
    b = start_server(database=database, env={"SIGIL_KEK": kek}, name="replica-b", args=no_cache)
    assert a.tenant == b.tenant, "two replicas on one database must serve one tenant"
    assert a.admin_key_file, "the first replica creates the tenant and its admin key"
    assert b.admin_key_file is None and not (b.data_dir / "admin-key.json").exists(), \
        "the second replica must not mint a second bootstrap admin"
    assert a.ca_file != b.ca_file
    cli_a = SigilCli(tmp_path_factory.mktemp("replica-a") / "profile.json", binary=a.binary)
    cli_a.login(a)
    cli_b = SigilCli(tmp_path_factory.mktemp("replica-b") / "profile.json", binary=b.binary)
    cli_b.login(b, key_file=a.admin_key_file)  # one admin key, the other replica's CA
    return a, b, cli_a, cli_b


def test_app_and_secret_made_at_a_work_at_b_at_once(replicas):
    a, b, cli_a, cli_b = replicas
    resource = cli_a.json("app", "create", "replicated", "--identifier-uri", RESOURCE)
    client = cli_a.json("app", "create", "replica-secret-client")
    secret = cli_a.json("app", "secret", "add", "replica-secret-client")["secretText"]

    r = token_request(b, client_id=client["appId"], client_secret=secret, scope=f"{RESOURCE}/.default")
    assert r.status_code == 200, f"replica B does not know what replica A just wrote: {r.status_code} {r.text}"
    token = r.json()["access_token"]
    validate(b, token, audience=resource["appId"], alg="ES256", client=client)
    validate(b, token, audience=resource["appId"], alg="ES256", client=client, keys_from=a)

    # The admin API of B sees A's writes too, and a change at B stops the client at A at once.
    shown = cli_b.json("app", "show", "replica-secret-client")
    assert shown["appId"] == client["appId"] and len(shown["passwordCredentials"]) == 1, shown
    cli_b.run("app", "disable", "replica-secret-client")
    r = token_request(a, client_id=client["appId"], client_secret=secret, scope=f"{RESOURCE}/.default")
    assert r.status_code in (400, 401) and 7000112 in r.json().get("error_codes", []), \
        f"replica A still issues to an app disabled at B: {r.status_code} {r.text}"
    cli_b.run("app", "enable", "replica-secret-client")
    r = token_request(a, client_id=client["appId"], client_secret=secret, scope=f"{RESOURCE}/.default")
    assert r.status_code == 200, r.text


def test_assertion_used_at_a_is_refused_at_b(replicas, tmp_path):
    a, b, cli_a, _ = replicas
    cli_a.json("app", "create", "replicated-assertions", "--identifier-uri", "api://replicated-assertions")
    client = cli_a.json("app", "create", "replica-cert-client")
    cert = make_certificate(tmp_path, "replica-cert-client")
    cli_a.json("app", "cert", "add", "replica-cert-client", "--cert", str(cert.cert_file))

    now = int(time.time())
    # One assertion both replicas accept: behind a load balancer they share one token endpoint
    # URL; here each has its own port, so the assertion names both.
    assertion = jwt.encode({"iss": client["appId"], "sub": client["appId"], "aud": [a.token_endpoint, b.token_endpoint],
                            "iat": now, "nbf": now, "exp": now + 300, "jti": str(uuid.uuid4())},
                           cert.key_pem, algorithm="RS256", headers={"x5t#S256": cert.x5t_s256})
    form = {"client_id": client["appId"], "scope": "api://replicated-assertions/.default",
            "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion}

    first = token_request(a, **form)
    assert first.status_code == 200, f"{first.status_code} {first.text}"
    replay = token_request(b, **form)
    assert replay.status_code == 401, f"replica B accepted an assertion already used at A: {replay.status_code} {replay.text}"
    body = replay.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [700023], body
    assert "AADSTS700023" in body["error_description"], body

    # The same assertion sent to both replicas at the same moment is honoured at most once.
    fresh = dict(form, client_assertion=jwt.encode(
        {"iss": client["appId"], "sub": client["appId"], "aud": [a.token_endpoint, b.token_endpoint],
         "iat": now, "nbf": now, "exp": now + 300, "jti": str(uuid.uuid4())},
        cert.key_pem, algorithm="RS256", headers={"x5t#S256": cert.x5t_s256}))
    results: list[int] = []
    barrier = threading.Barrier(8)

    def race(server):
        barrier.wait()
        results.append(token_request(server, **fresh).status_code)

    threads = [threading.Thread(target=race, args=(a if i % 2 else b,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results.count(200) == 1, f"one assertion raced at both replicas got {results.count(200)} tokens: {results}"
    assert sorted(set(results)) == [200, 401], results


def test_replicas_publish_the_same_keys_and_follow_rotation(replicas):
    a, b, cli_a, _ = replicas
    assert jwk_fingerprints(a) == jwk_fingerprints(b), "replicas publish different JWKS"

    client = cli_a.json("app", "create", "replica-rotation-client")
    secret = cli_a.json("app", "secret", "add", "replica-rotation-client")["secretText"]
    form = {"client_id": client["appId"], "client_secret": secret, "scope": f"{RESOURCE}/.default"}
    before = token_request(b, **form).json()["access_token"]

    rotate_keys(cli_a)
    rotated_at = time.monotonic()
    active_at_a = {k["kid"] for k in cli_a.json("keys", "list")["value"] if k["state"] == "active"}
    published_at_a = set(jwk_fingerprints(a))

    # Right away, whatever B signs with must be published by A (a resource may fetch A's JWKS).
    after = token_request(b, **form)
    assert after.status_code == 200, after.text
    after = after.json()["access_token"]
    assert token_kid(after) in published_at_a, \
        "replica B signs with a key replica A does not publish (a resource fetching A's JWKS rejects it)"

    # B refreshes its key cache from the store every 30 s (SigilServer keyRefreshInterval); within
    # that it must stop signing with the retired key and publish what A publishes.
    deadline = rotated_at + 45
    while time.monotonic() < deadline:
        current = token_request(b, **form).json()["access_token"]
        if token_kid(current) in active_at_a and jwk_fingerprints(a) == jwk_fingerprints(b):
            break
        time.sleep(1)
    waited = time.monotonic() - rotated_at
    print(f"\nreplica B followed the rotation at A after {waited:.1f}s")
    assert token_kid(current) in active_at_a, \
        f"replica B still signs with {token_kid(current)}, retired at A {waited:.0f}s ago (active at A: {active_at_a})"
    assert jwk_fingerprints(a) == jwk_fingerprints(b), f"replicas publish different JWKS {waited:.0f}s after a rotation"
    resource_app_id = cli_a.json("app", "show", "replicated")["appId"]
    for token in (before, after, current):
        validate(b, token, audience=resource_app_id, alg="ES256", client=client)
        validate(b, token, audience=resource_app_id, alg="ES256", client=client, keys_from=a)


def test_replicas_starting_together_on_an_empty_database_agree(start_server):
    database = start_server.new_database()
    kek = base64.b64encode(os.urandom(32)).decode()
    started: list = []
    errors: list = []

    def start(name):
        try:
            started.append(start_server(database=database, env={"SIGIL_KEK": kek}, name=name))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"{name}: {e}")

    threads = [threading.Thread(target=start, args=(f"together-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not errors, errors
    assert len({s.tenant for s in started}) == 1, [s.tenant for s in started]
    assert sum(1 for s in started if s.admin_key_file) == 1, "exactly one replica mints the bootstrap admin key"
    for s in started:
        assert s.stop() == 0, s.stderr_text()[-3000:]

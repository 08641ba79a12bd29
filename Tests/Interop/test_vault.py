"""The vault through the clients people already use: azure-keyvault-secrets (sync and async) with
azure-identity credentials, unchanged, at each vault's own host name `NAME.vault.localhost`
(resolved by libnss-myhostname, which scripts/test installs); the Key Vault wire contract for bad
input; and `sigil vault` on the command line. Runs on SQLite, and on PostgreSQL when
SIGIL_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.identity import CertificateCredential, ManagedIdentityCredential
from azure.identity.aio import CertificateCredential as AsyncCertificateCredential
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets.aio import SecretClient as AsyncSecretClient

from conftest import SigilCli, SigilServer, admin_token
from helpers import Certificate, make_certificate
from test_agent import Agent, enroll, socket_dir

MAX_VALUE = 25 * 1024
API = "api-version=7.5"


@dataclass
class Principal:
    app: dict
    cert: Certificate

    def credential(self, sigil: SigilServer) -> CertificateCredential:
        return CertificateCredential(sigil.tenant, self.app["appId"], certificate_path=str(self.cert.combined_file),
                                     authority=sigil.base_url, disable_instance_discovery=True)

    def token(self, sigil: SigilServer, resource: str) -> str:
        return self.credential(sigil).get_token(f"{resource}/.default").token


@dataclass
class VaultWorld:
    vault: str
    url: str
    resource: str
    officer: Principal
    reader: Principal
    scoped: Principal


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def principal(cli: SigilCli, keys: Path, name: str) -> Principal:
    app = cli.json("app", "create", name)
    cert = make_certificate(keys, name)
    cli.json("app", "cert", "add", name, "--cert", str(cert.cert_file))
    return Principal(app, cert)


@pytest.fixture(scope="module")
def world(sigil, cli, tmp_path_factory) -> VaultWorld:
    keys = tmp_path_factory.mktemp("vault-keys")
    vault = cli.json("vault", "create", unique("kv"), "--retention-days", "7")
    officer = principal(cli, keys, unique("kv-officer-"))
    reader = principal(cli, keys, unique("kv-reader-"))
    scoped = principal(cli, keys, unique("kv-scoped-"))
    cli.run("role", "assign", "Vault Secrets Officer", "--to", officer.app["displayName"], "--vault", vault["name"])
    cli.run("role", "assign", "Vault Secrets User", "--to", reader.app["displayName"], "--vault", vault["name"])
    cli.run("role", "assign", "Vault Secrets Officer", "--to", scoped.app["displayName"], "--vault", vault["name"], "--secret", "mine")
    resource = f"https://vault.localhost:{sigil.port}"
    return VaultWorld(vault["name"], vault["vaultUri"], resource, officer, reader, scoped)


def client(world: VaultWorld, sigil: SigilServer, who: Principal | None = None, **kwargs) -> SecretClient:
    return SecretClient(world.url, (who or world.officer).credential(sigil), **kwargs)


def raw(world: VaultWorld, sigil: SigilServer, method: str, path: str, who: Principal | None = None, token: str | None = None,
        query: str = API, **kwargs) -> requests.Response:
    """One request to the vault's host, with a token of `who` (the officer by default) unless `token` is given."""
    bearer = token if token is not None else (who or world.officer).token(sigil, world.resource)
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    headers.update(kwargs.pop("headers", {}))
    return requests.request(method, f"{world.url}/{path}?{query}", headers=headers, verify=sigil.ca_file, timeout=30, **kwargs)


def kv_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"], error
    return error["message"]


def versions(world: VaultWorld, sigil: SigilServer, name: str) -> list[str]:
    return [p.version for p in client(world, sigil).list_properties_of_secret_versions(name)]


# -- the SDK, unchanged -----------------------------------------------------------------------


def test_the_sync_client_sets_reads_lists_pages_updates_deletes_recovers_and_purges(sigil, world):
    c = client(world, sigil)
    first = c.set_secret("db-password", "first", content_type="text/plain", tags={"owner": "payments"})
    second = c.set_secret("db-password", "second")
    assert first.value == "first" and first.properties.content_type == "text/plain" and first.properties.tags == {"owner": "payments"}
    assert c.get_secret("db-password").value == "second"
    assert c.get_secret("db-password", first.properties.version).value == "first"
    assert c.get_secret("db-password", second.properties.version).properties.version == second.properties.version

    names = [unique("page-") for _ in range(5)]
    for name in names:
        c.set_secret(name, name)
    listed = [p.name for p in c.list_properties_of_secrets(max_page_size=2)]
    page = raw(world, sigil, "GET", "secrets", query="api-version=7.5&maxresults=1").json()
    assert "&$skiptoken=" in page["nextLink"], "written as Key Vault writes it"
    encoded = page["nextLink"].replace("$skiptoken", "%24skiptoken")
    second = requests.get(encoded, headers={"Authorization": f"Bearer {world.officer.token(sigil, world.resource)}"}, verify=sigil.ca_file, timeout=30)
    assert second.json()["value"][0]["id"] != page["value"][0]["id"], "a re-encoded link pages on too"
    assert set(names) <= set(listed) and listed == sorted(listed, key=str.lower), listed
    for n in range(4):
        c.set_secret(names[0], f"v{n}")
    history = list(c.list_properties_of_secret_versions(names[0], max_page_size=2))
    assert len(history) == 5 and all(p.name == names[0] for p in history)

    updated = c.update_secret_properties("db-password", first.properties.version, enabled=False, tags={"state": "retired"})
    assert updated.enabled is False and updated.tags == {"state": "retired"} and updated.version == first.properties.version
    with pytest.raises(HttpResponseError) as refused:
        c.get_secret("db-password", first.properties.version)
    assert refused.value.status_code == 403
    assert c.get_secret("db-password").value == "second", "the latest version is untouched"

    deleted = c.begin_delete_secret(names[1]).result()
    assert deleted.name == names[1] and deleted.recovery_id.endswith(f"/deletedsecrets/{names[1]}")
    assert deleted.scheduled_purge_date > deleted.deleted_date
    assert names[1] in [d.name for d in c.list_deleted_secrets()]
    assert c.get_deleted_secret(names[1]).name == names[1]
    with pytest.raises(ResourceNotFoundError):
        c.get_secret(names[1])
    recovered = c.begin_recover_deleted_secret(names[1]).result()
    assert recovered.name == names[1] and c.get_secret(names[1]).value == names[1]

    c.begin_delete_secret(names[2]).result()
    c.purge_deleted_secret(names[2])
    assert names[2] not in [d.name for d in c.list_deleted_secrets()]
    with pytest.raises(ResourceNotFoundError):
        c.get_deleted_secret(names[2])


def test_the_async_client_works_too(sigil, world):
    async def run():
        credential = AsyncCertificateCredential(sigil.tenant, world.officer.app["appId"], certificate_path=str(world.officer.cert.combined_file),
                                                authority=sigil.base_url, disable_instance_discovery=True, connection_verify=sigil.ca_file)
        # aiohttp does not read REQUESTS_CA_BUNDLE: both are told the CA.
        async with credential, AsyncSecretClient(world.url, credential, connection_verify=sigil.ca_file) as c:
            name = unique("async-")
            first = await c.set_secret(name, "one")
            await c.set_secret(name, "two")
            assert (await c.get_secret(name)).value == "two"
            assert (await c.get_secret(name, first.properties.version)).value == "one"
            assert name in [p.name async for p in c.list_properties_of_secrets(max_page_size=1)]
            assert len([p async for p in c.list_properties_of_secret_versions(name, max_page_size=1)]) == 2
            assert (await c.update_secret_properties(name, content_type="x")).content_type == "x"
            await c.delete_secret(name)
            assert name in [d.name async for d in c.list_deleted_secrets()]
            await c.recover_deleted_secret(name)
            assert (await c.get_secret(name)).value == "two"
            await c.delete_secret(name)
            await c.purge_deleted_secret(name)
    asyncio.run(run())


@pytest.mark.parametrize("value", [
    "",
    "x" * MAX_VALUE,
    "é" * (MAX_VALUE // 2),
    "пароль 密码 🔑 e\u0301 \u200d \"quoted\" \\back\\slash\n\ttabs\r\n\u0001\u001f",
], ids=["empty", "25KB", "25KB-two-byte", "unicode-and-controls"])
def test_every_value_round_trips_byte_for_byte(sigil, world, value):
    c = client(world, sigil)
    name = unique("bytes-")
    assert c.set_secret(name, value).value == value
    assert c.get_secret(name).value == value
    assert len(c.get_secret(name).value.encode()) == len(value.encode())


@pytest.mark.parametrize("route", ["imds", "app-service"])
def test_a_managed_identity_reads_through_the_agent_with_no_secret(sigil, cli, world, tmp_path, monkeypatch, route):
    """The workload's only credential is the host's identity: ManagedIdentityCredential finds the
    agent through the variables `sigil agent env` prints, and SecretClient reads with it."""
    host = cli.json("host", "create", unique(f"kv-host-{route}-"))
    state = tmp_path / "agent"
    assert enroll(cli, sigil, state, host["joinToken"]).returncode == 0
    agent = Agent(cli.binary, state, socket_dir() / "agent.sock").start()
    try:
        name = unique("mi-")
        client(world, sigil).set_secret(name, "read with the host's identity")
        identity = host["systemAssignedIdentity"]
        cli.run("role", "assign", "Vault Secrets User", "--to", identity["appId"], "--vault", world.vault, "--secret", name)
        for variable, value in agent.env_vars(route).items():
            monkeypatch.setenv(variable, value)
        c = SecretClient(world.url, ManagedIdentityCredential())
        assert c.get_secret(name).value == "read with the host's identity"
        with pytest.raises(HttpResponseError) as refused:
            c.get_secret("db-password")
        assert refused.value.status_code == 403, "a grant on one secret reads that secret only"
        signins = cli.json("logs", "signins", "--app", identity["appId"], "--top", "5")["value"]
        assert any(s["clientCredentialType"] == "managedIdentity" and s["status"]["errorCode"] == 0 for s in signins), signins
    finally:
        agent.stop()


def test_a_path_based_vault_url_works_with_the_challenge_check_off(sigil, world):
    c = SecretClient(f"{sigil.base_url}/vaults/{world.vault}", world.officer.credential(sigil), verify_challenge_resource=False)
    name = unique("path-")
    c.set_secret(name, "by path")
    assert c.get_secret(name).value == "by path"
    assert client(world, sigil).get_secret(name).value == "by path", "one vault, two addresses"


# -- the wire contract ------------------------------------------------------------------------


def test_an_unauthenticated_request_gets_key_vaults_challenge(sigil, world):
    r = raw(world, sigil, "GET", "secrets/anything", token="")
    kv_error(r, 401, "Unauthorized")
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer "), challenge
    assert f'authorization="{sigil.base_url}/{sigil.tenant}"' in challenge, challenge
    assert f'resource="{world.resource}"' in challenge, challenge


def test_the_certificate_covers_every_vault_host(sigil, world):
    r = requests.get(f"https://another-{secrets.token_hex(2)}.vault.localhost:{sigil.port}/secrets?{API}", verify=sigil.ca_file, timeout=10)
    kv_error(r, 404, "VaultNotFound")


@pytest.mark.parametrize("name", ["has_underscore", "a" * 128, "dot.ted", "sp%20ace", "%C3%A9"])
def test_a_name_outside_the_pattern_is_bad_parameter(sigil, world, name):
    before = [p.name for p in client(world, sigil).list_properties_of_secrets()]
    kv_error(raw(world, sigil, "PUT", f"secrets/{name}", json={"value": "v"}), 400, "BadParameter")
    assert [p.name for p in client(world, sigil).list_properties_of_secrets()] == before


def test_a_value_over_25kb_is_refused_and_nothing_changes(sigil, world):
    name = unique("big-")
    client(world, sigil).set_secret(name, "kept")
    message = kv_error(raw(world, sigil, "PUT", f"secrets/{name}", json={"value": "x" * (MAX_VALUE + 1)}), 400, "BadParameter")
    assert "25" in message
    assert client(world, sigil).get_secret(name).value == "kept" and len(versions(world, sigil, name)) == 1


@pytest.mark.parametrize("query", ["", "api-version=1.0", "api-version=7", "api-version=8.0", "api-version=2019-01-01"])
def test_an_unknown_or_missing_api_version_is_bad_parameter(sigil, world, query):
    kv_error(raw(world, sigil, "GET", "secrets", query=query), 400, "BadParameter")


@pytest.mark.parametrize("body, status, code", [
    (b"{not json", 400, "BadParameter"),
    (b"[]", 400, "BadParameter"),
    (b'{"value": 5}', 400, "BadParameter"),
    (b'{"value": "v", "surprise": 1}', 400, "BadParameter"),
    (b'{"value": "v", "attributes": {"exp": "soon"}}', 400, "BadParameter"),
    (b'{"value": "v", "tags": {"a": 1}}', 400, "BadParameter"),
    (json.dumps({"value": "v", "tags": {f"t{n}": "x" for n in range(16)}}).encode(), 400, "BadParameter"),
    (b'{"value": "' + b"x" * (300 * 1024) + b'"}', 413, "RequestBodyTooLarge"),
], ids=["malformed", "array", "value-not-string", "unknown-member", "bad-exp", "tag-not-string", "16-tags", "over-large"])
def test_a_malformed_or_over_large_body_is_refused_and_nothing_changes(sigil, world, body, status, code):
    name = unique("body-")
    client(world, sigil).set_secret(name, "kept")
    kv_error(raw(world, sigil, "PUT", f"secrets/{name}", data=body, headers={"Content-Type": "application/json"}), status, code)
    assert len(versions(world, sigil, name)) == 1


def test_a_version_of_another_secret_is_not_found(sigil, world):
    c = client(world, sigil)
    a, b = unique("va-"), unique("vb-")
    other = c.set_secret(a, "a").properties.version
    c.set_secret(b, "b")
    kv_error(raw(world, sigil, "GET", f"secrets/{b}/{other}"), 404, "SecretNotFound")
    kv_error(raw(world, sigil, "PATCH", f"secrets/{b}/{other}", json={"contentType": "x"}), 404, "SecretNotFound")
    assert c.get_secret(a, other).properties.content_type is None


def test_a_token_for_another_resource_is_refused_with_the_challenge(sigil, world):
    token = world.officer.token(sigil, "api://AzureADTokenExchange")
    r = raw(world, sigil, "GET", "secrets", token=token)
    kv_error(r, 401, "Unauthorized")
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_a_user_role_cannot_write_and_a_secret_scoped_role_stays_in_its_secret(sigil, world):
    name = unique("guarded-")
    client(world, sigil).set_secret(name, "original")
    assert client(world, sigil, world.reader).get_secret(name).value == "original", "Vault Secrets User reads"
    r = raw(world, sigil, "PUT", f"secrets/{name}", who=world.reader, json={"value": "overwritten"})
    assert "vault.secrets.set" in kv_error(r, 403, "Forbidden")
    assert r.json()["error"]["innererror"]["code"] == "ForbiddenByRbac"
    kv_error(raw(world, sigil, "DELETE", f"secrets/{name}", who=world.reader), 403, "Forbidden")

    scoped = client(world, sigil, world.scoped)
    scoped.set_secret("mine", "scoped value")
    assert scoped.get_secret("mine").value == "scoped value"
    kv_error(raw(world, sigil, "GET", f"secrets/{name}", who=world.scoped), 403, "Forbidden")
    kv_error(raw(world, sigil, "PUT", f"secrets/{name}", who=world.scoped, json={"value": "x"}), 403, "Forbidden")
    kv_error(raw(world, sigil, "GET", "secrets", who=world.scoped), 403, "Forbidden")
    assert client(world, sigil).get_secret(name).value == "original" and len(versions(world, sigil, name)) == 1


def test_two_sets_at_once_keep_both_versions_in_order(sigil, world):
    name = unique("race-")
    token = world.officer.token(sigil, world.resource)
    barrier = threading.Barrier(8)
    results: list[requests.Response] = []

    def put(n: int):
        barrier.wait()
        results.append(raw(world, sigil, "PUT", f"secrets/{name}", token=token, json={"value": f"value-{n}"}))

    threads = [threading.Thread(target=put, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [200] * 8, [r.text for r in results if r.status_code != 200]
    c = client(world, sigil)
    history = list(c.list_properties_of_secret_versions(name))
    assert len(history) == 8
    values = [c.get_secret(name, p.version).value for p in history]
    assert sorted(values) == sorted(f"value-{n}" for n in range(8))
    assert c.get_secret(name).value == values[-1], "the latest is the last in order"


def test_a_purge_racing_a_recover_lets_exactly_one_win(sigil, world):
    c = client(world, sigil)
    for _ in range(5):
        name = unique("pr-")
        c.set_secret(name, "v")
        c.begin_delete_secret(name).result()
        token = world.officer.token(sigil, world.resource)
        barrier = threading.Barrier(2)
        outcome: dict[str, int] = {}

        def act(kind: str, method: str, path: str):
            barrier.wait()
            outcome[kind] = raw(world, sigil, method, path, token=token).status_code

        threads = [threading.Thread(target=act, args=("recover", "POST", f"deletedsecrets/{name}/recover")),
                   threading.Thread(target=act, args=("purge", "DELETE", f"deletedsecrets/{name}"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if outcome["recover"] == 200:
            assert outcome["purge"] == 404, outcome
            assert c.get_secret(name).value == "v"
        else:
            assert (outcome["recover"], outcome["purge"]) == (404, 204), outcome
            with pytest.raises(ResourceNotFoundError):
                c.get_secret(name)


def test_recovering_a_purged_secret_is_not_found(sigil, world):
    c = client(world, sigil)
    name = unique("gone-")
    c.set_secret(name, "v")
    c.begin_delete_secret(name).result()
    c.purge_deleted_secret(name)
    kv_error(raw(world, sigil, "POST", f"deletedsecrets/{name}/recover"), 404, "SecretNotFound")
    with pytest.raises(ResourceNotFoundError):
        c.begin_recover_deleted_secret(name).result()


def test_a_deleted_name_cannot_be_reused_before_purge(sigil, world):
    c = client(world, sigil)
    name = unique("reuse-")
    c.set_secret(name, "old")
    c.begin_delete_secret(name).result()
    with pytest.raises(ResourceExistsError) as conflict:
        c.set_secret(name, "new")
    assert "deleted but recoverable" in str(conflict.value)
    c.purge_deleted_secret(name)
    assert c.set_secret(name, "new").value == "new"
    assert len(versions(world, sigil, name)) == 1, "the purged versions are gone"


def test_purge_protection_refuses_purge_and_cannot_be_turned_off(sigil, cli, world):
    protected = cli.json("vault", "create", unique("pp"), "--purge-protection")
    cli.run("role", "assign", "Vault Secrets Officer", "--to", world.officer.app["displayName"], "--vault", protected["name"])
    c = SecretClient(protected["vaultUri"], world.officer.credential(sigil))
    c.set_secret("kept", "v")
    c.begin_delete_secret("kept").result()
    with pytest.raises(HttpResponseError) as refused:
        c.purge_deleted_secret("kept")
    assert refused.value.status_code == 403 and "purge protection" in str(refused.value)
    assert "kept" in [d.name for d in c.list_deleted_secrets()]
    off = cli.run("vault", "set", protected["name"], "--retention-days", "30", check=False)
    assert off.returncode == 0, off.stderr
    r = requests.patch(f"{sigil.base_url}/admin/v1/vaults/{protected['name']}", json={"enablePurgeProtection": False}, verify=sigil.ca_file,
                       headers={"Authorization": f"Bearer {admin_token_for(sigil)}"}, timeout=30)
    assert r.status_code == 409 and "cannot be turned off" in r.json()["error"]["message"], r.text
    assert cli.json("vault", "show", protected["name"])["enablePurgeProtection"] is True


def admin_token_for(sigil: SigilServer) -> str:
    return admin_token(sigil, sigil.admin_key_file)


def test_every_read_and_change_is_audited_with_no_value(sigil, cli, world):
    c = client(world, sigil, world.reader)
    name = unique("audited-")
    value = "audit-canary-" + secrets.token_hex(8)
    version = client(world, sigil).set_secret(name, value).properties.version
    c.get_secret(name)
    raw(world, sigil, "PUT", f"secrets/{name}", who=world.reader, json={"value": value})
    events = cli.json("logs", "audit", "--top", "200")["value"]
    assert value not in json.dumps(events)
    mine = [e for e in events if e["targetResources"][0]["id"].startswith(f"{world.vault}/{name}")]
    actions = {e["activityDisplayName"]: e for e in mine}
    assert {"vault.secret.set", "vault.secret.get", "vault.denied"} <= set(actions), sorted(actions)
    assert actions["vault.secret.get"]["targetResources"][0]["id"] == f"{world.vault}/{name}/{version}"
    assert actions["vault.secret.get"]["initiatedBy"]["displayName"] == world.reader.app["displayName"]
    assert actions["vault.denied"]["result"] == "failure"


# -- the CLI ----------------------------------------------------------------------------------


def test_the_cli_reads_values_from_stdin_or_a_file_never_an_argument_and_prints_them_exactly(sigil, cli, world, tmp_path):
    name = unique("cli-")
    value = "line one\nline two\n  spaced  \n"

    def env_run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([cli.binary, *args], input=stdin, capture_output=True, text=True,
                              env={**os.environ, "SIGIL_PROFILE": str(cli.profile)}, timeout=60)

    done = env_run("vault", "secret", "set", f"{world.vault}/{name}", "--tag", "team=payments", stdin=value)
    assert done.returncode == 0, done.stderr
    assert value.strip() not in done.stdout + done.stderr, "the value is never printed back"
    assert env_run("vault", "secret", "get", f"{world.vault}/{name}").stdout == value
    file = tmp_path / "value.txt"
    file.write_bytes("from a file ✓".encode())
    cli.run("vault", "secret", "set", f"{world.vault}/{name}", "--file", str(file))
    assert cli.run("vault", "secret", "get", f"{world.vault}/{name}").stdout == "from a file ✓"
    listed = cli.json("vault", "secret", "versions", f"{world.vault}/{name}")["value"]
    assert len(listed) == 2 and all("value" not in v for v in listed)
    first = listed[0]["id"].rsplit("/", 1)[1]
    assert cli.run("vault", "secret", "get", f"{world.vault}/{name}/{first}").stdout == value
    assert name in cli.run("vault", "secret", "list", world.vault).stdout
    cli.run("vault", "secret", "delete", f"{world.vault}/{name}")
    assert name in cli.run("vault", "secret", "list", world.vault, "--deleted").stdout
    cli.run("vault", "secret", "recover", f"{world.vault}/{name}")
    cli.run("vault", "secret", "delete", f"{world.vault}/{name}")
    cli.run("vault", "secret", "purge", f"{world.vault}/{name}")
    missing = cli.run("vault", "secret", "get", f"{world.vault}/{name}", check=False)
    assert missing.returncode == 1 and missing.stderr.startswith("error: ") and "was not found" in missing.stderr
    assert cli.run("vault", "secret", "set", f"{world.vault}/{name}", "--value", "x", check=False).returncode != 0, "no value option"


def test_vaults_are_created_listed_and_deleted_only_when_empty(sigil, cli, world):
    name = unique("tmp")
    created = cli.json("vault", "create", name)
    assert created["vaultUri"] == f"https://{name}.vault.localhost:{sigil.port}" and created["softDeleteRetentionInDays"] == 90
    assert name in [v["name"] for v in cli.json("vault", "list")["value"]]
    for bad in ["ab", "1starts-with-digit", "ends-", "double--hyphen", "x" * 25, "under_score"]:
        refused = cli.run("vault", "create", bad, check=False)
        assert refused.returncode == 1 and refused.stderr.startswith("error: "), (bad, refused.stderr)
    assert cli.run("vault", "create", name.upper(), check=False).returncode == 1, "names are case-insensitive host names"
    assert cli.run("vault", "create", unique("r"), "--retention-days", "6", check=False).returncode == 1
    cli.run("role", "assign", "Vault Secrets Officer", "--to", world.officer.app["displayName"], "--vault", name)
    c = SecretClient(created["vaultUri"], world.officer.credential(sigil))
    c.set_secret("s", "v")
    c.begin_delete_secret("s").result()
    busy = cli.run("vault", "delete", name, check=False)
    assert busy.returncode == 1 and "deleted ones" in busy.stderr
    c.purge_deleted_secret("s")
    cli.run("vault", "delete", name)
    assert name not in [v["name"] for v in cli.json("vault", "list")["value"]]
    scopes = [a["directoryScopeDisplayName"] for a in cli.json("role", "show", "Vault Secrets Officer")["assignments"]]
    assert not any(name in scope for scope in scopes), "assignments scoped to a deleted vault go with it"

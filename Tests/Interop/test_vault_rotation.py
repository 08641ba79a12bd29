"""An app's client secret under rotation, read by a real msal client through `sigil run`: bad input
first, then three rotations with the server restarted during one of them, and not one token
request refused. Drives the real `sigil` binary as a user would. Runs on SQLite, and on PostgreSQL
when SIGIL_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import AdminAPI, SigilCli
from test_agent import Agent, enroll, socket_dir

CLIENT = str(Path(__file__).with_name("rotation_client.py"))
EVERY, OVERLAP = "PT15S", "PT10S"  # the overlap leaves a loaded machine time to re-launch the client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(start_server):
    # A fixed port keeps the URL (and the CLI's profile) across the restart; seconds-long periods
    # need the test-only floor.
    return start_server(name="rotation", listen=f"127.0.0.1:{free_port()}", args=["--rotation-minimum-period", "PT1S"])


@pytest.fixture(scope="module")
def admin(server, tmp_path_factory) -> SigilCli:
    cli = SigilCli(tmp_path_factory.mktemp("rotation-cli") / "profile.json", binary=server.binary)
    cli.login(server)
    return cli


@pytest.fixture(scope="module")
def vault(admin) -> str:
    name = f"rot{os.getpid()}"
    admin.json("vault", "create", name)
    return name


def set_secret(cli: SigilCli, reference: str, value: str):
    env = dict(os.environ, SIGIL_PROFILE=str(cli.profile))
    done = subprocess.run([cli.binary, "vault", "secret", "set", reference], input=value, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr


def run(cli: SigilCli, *args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full = {**os.environ, "SIGIL_PROFILE": str(cli.profile), **(env or {})}
    return subprocess.run([cli.binary, *args], capture_output=True, text=True, env=full, timeout=timeout)


# --------------------------------------------------------------------------------------------
# Bad input


def test_bad_policies_are_refused_with_what_to_fix(admin, vault):
    admin.json("app", "create", "rot-bad")
    cases = [
        (["--app", "rot-bad", "--every", "P7D", "--overlap", "P7D"], "overlap (P7D) must be shorter than every (P7D)"),
        (["--app", "rot-bad", "--every", "P7D", "--overlap", "P30D"], "must be shorter than every"),
        (["--app", "rot-bad", "--every", "soon", "--overlap", "P1D"], "every 'soon' is not an ISO-8601 duration"),
        (["--app", "nobody-here", "--every", "P30D", "--overlap", "P7D"], "No application 'nobody-here' in this tenant"),
    ]
    for args, message in cases:
        result = run(admin, "vault", "rotation", "set", f"{vault}/rot-bad", *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and message in result.stderr, (args, result.stderr)
    missing_vault = run(admin, "vault", "rotation", "set", "nowhere/rot-bad", "--app", "rot-bad", "--every", "P30D", "--overlap", "P7D")
    assert missing_vault.returncode == 1 and "No vault 'nowhere'" in missing_vault.stderr
    shown = run(admin, "vault", "rotation", "show", f"{vault}/rot-bad")
    assert shown.returncode == 1 and "has no rotation policy" in shown.stderr, shown.stderr
    version = run(admin, "vault", "rotation", "show", f"{vault}/rot-bad/{'0' * 32}")
    assert version.returncode == 1 and "not a version's" in version.stderr


def test_sigil_run_refuses_bad_references_and_starts_nothing_it_cannot_feed(admin, vault, tmp_path):
    marker = tmp_path / "started"
    command = ["--", sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"]
    for reference, message in [
        ("1BAD=x/y", "not an environment variable name"),
        ("DB=no-slash", "is not ENV=VAULT/NAME"),
        ("DB=kv/bad_name", "is not ENV=VAULT/NAME"),
    ]:
        result = run(admin, "run", "--secret", reference, *command)
        assert result.returncode != 0 and message in result.stderr, (reference, result.stderr)
    missing = run(admin, "run", "--secret", f"DB_PASSWORD={vault}/not-there", *command)
    assert missing.returncode == 1, missing.stderr
    assert missing.stderr.startswith(f"error: DB_PASSWORD={vault}/not-there: "), missing.stderr
    assert "not found" in missing.stderr.lower()
    disabled = "run-disabled"
    env = dict(os.environ, SIGIL_PROFILE=str(admin.profile))
    done = subprocess.run([admin.binary, "vault", "secret", "set", f"{vault}/{disabled}", "--disabled"], input="hidden", capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    refused = run(admin, "run", "--secret", f"DB_PASSWORD={vault}/{disabled}", *command)
    assert refused.returncode == 1 and "disabled" in refused.stderr and "hidden" not in refused.stderr + refused.stdout, refused.stderr
    assert not marker.exists(), "nothing is started unless every secret was read"


def test_sigil_run_puts_values_in_the_environment_and_hands_over_the_exit_code(admin, vault):
    set_secret(admin, f"{vault}/run-db", "pä ss=word\nline two")
    set_secret(admin, f"{vault}/run-key", "k-123")
    script = "import os,sys; print(repr(os.environ['DB_PASSWORD'])); print(os.environ['API_KEY']); sys.exit(7)"
    result = run(admin, "run", "--secret", f"DB_PASSWORD={vault}/run-db", "--secret", f"API_KEY={vault}/run-key", "--", sys.executable, "-c", script)
    assert result.returncode == 7, result.stderr
    assert result.stdout.splitlines() == [repr("pä ss=word\nline two"), "k-123"]
    assert result.stderr == ""


@pytest.mark.parametrize("route", ["app-service", "imds"])
def test_sigil_run_reads_with_the_hosts_managed_identity_and_no_profile(server, admin, vault, tmp_path, route):
    host = admin.json("host", "create", f"rot-host-{route}")
    state = tmp_path / "agent"
    assert enroll(admin, server, state, host["joinToken"]).returncode == 0
    agent = Agent(admin.binary, state, socket_dir() / "agent.sock").start()
    try:
        set_secret(admin, f"{vault}/mi-secret-{route}", "read with no secret")
        set_secret(admin, f"{vault}/mi-other-{route}", "not for this host")
        identity = host["systemAssignedIdentity"]
        admin.run("role", "assign", "Vault Secrets User", "--to", identity["appId"], "--vault", vault, "--secret", f"mi-secret-{route}")
        # The host's shell: the agent's variables, the server and its CA, and no CLI profile at all.
        env = {**agent.env_vars(route), "SIGIL_SERVER": server.base_url, "SIGIL_CA": server.ca_file, "SIGIL_PROFILE": str(tmp_path / "none.json")}
        show = [sys.executable, "-c", "import os; print(os.environ['DB_PASSWORD'])"]
        read = run(admin, "run", "--secret", f"DB_PASSWORD={vault}/mi-secret-{route}", "--", *show, env=env)
        assert read.returncode == 0, read.stderr
        assert read.stdout == "read with no secret\n"
        assert not (tmp_path / "none.json").exists(), "nothing is written"
        # A secret the identity holds no role on: refused, naming the role to assign.
        other = run(admin, "run", "--secret", f"DB_PASSWORD={vault}/mi-other-{route}", "--", *show, env=env)
        assert other.returncode == 1
        assert other.stderr.startswith(f"error: DB_PASSWORD={vault}/mi-other-{route}: ") and "Vault Secrets User" in other.stderr, other.stderr
        assert "not for this host" not in other.stdout + other.stderr
    finally:
        agent.stop()


def test_sigil_run_identity_needs_the_agents_variables(admin, vault):
    result = run(admin, "run", "--identity", "--secret", f"DB={vault}/anything", "--", "true",
                 env={"IDENTITY_ENDPOINT": "", "AZURE_POD_IDENTITY_AUTHORITY_HOST": ""})
    assert result.returncode == 1 and "--identity needs the agent's endpoint" in result.stderr, result.stderr


# --------------------------------------------------------------------------------------------
# Three rotations, a restart, no refused token


def test_a_client_reading_its_secret_through_sigil_run_keeps_getting_tokens_across_three_rotations_and_a_restart(server, admin, vault):
    admin.json("app", "create", "rot-orders", "--identifier-uri", "api://rot-orders")
    app = admin.json("app", "create", "rot-payments")
    first = admin.json("app", "secret", "add", "rot-payments", "--lifetime", "P1D")
    set_secret(admin, f"{vault}/payments-secret", first["secretText"])
    policy = admin.json("vault", "rotation", "set", f"{vault}/payments-secret", "--app", "rot-payments", "--every", EVERY, "--overlap", OVERLAP)
    assert policy["currentKeyId"] == first["keyId"], "the vault's value is recognised as the app's secret"
    assert policy["state"] == "idle"

    client_env = {"REQUESTS_CA_BUNDLE": server.ca_file}
    requests_made, refused, launches = 0, [], 0
    seen_keys = [first["keyId"]]
    restarted = False
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        # The workload, (re)launched at each renewal: its secret only ever comes from the vault.
        launched = run(admin, "run", "--secret", f"CLIENT_SECRET={vault}/payments-secret", "--",
                       sys.executable, CLIENT, app["appId"], server.authority, "api://rot-orders/.default", "1.5", env=client_env)
        launches += 1
        lines = [json.loads(line) for line in launched.stdout.splitlines() if line.startswith("{")]
        assert lines, f"the client printed nothing: {launched.stderr}"
        requests_made += len(lines)
        refused += [line for line in lines if not line["ok"]]
        assert launched.returncode == 0, (launched.returncode, lines, launched.stderr)

        state = admin.json("vault", "rotation", "show", f"{vault}/payments-secret")
        assert state["lastError"] is None, state
        if state["currentKeyId"] not in seen_keys:
            seen_keys.append(state["currentKeyId"])
        rotations = len(seen_keys) - 1
        if rotations == 2 and state["state"] == "overlap" and not restarted:
            # Stopped mid-rotation (minted, the replaced secret not yet removed), started again on the same data.
            assert server.stop() == 0
            server.start()
            restarted = True
        if rotations >= 3 and state["state"] == "idle":
            break
    else:
        pytest.fail(f"three rotations did not complete: keys {seen_keys}, restarted {restarted}")

    assert restarted
    assert not refused, refused
    assert requests_made >= 3 * launches and launches >= 6, (requests_made, launches)

    # The app keeps only the newest secret; the first one and the replaced ones are gone.
    final = admin.json("vault", "rotation", "show", f"{vault}/payments-secret")
    keys = [c["keyId"] for c in admin.json("app", "show", "rot-payments")["passwordCredentials"]]
    assert keys == [final["currentKeyId"]] == [seen_keys[-1]], (keys, final, seen_keys)
    versions = admin.json("vault", "secret", "versions", f"{vault}/payments-secret")["value"]
    assert len(versions) == 4, versions

    # Every step is in the audit log, with no value in it.
    audit = AdminAPI(server).call("GET", "auditLogs?top=1000")
    assert audit.status_code == 200
    events = [e for e in audit.json()["value"] if e["activityDisplayName"].startswith("vault.secret.rotation")]
    actions = [e["activityDisplayName"] for e in events]
    assert actions.count("vault.secret.rotation.mint") == 3, actions
    assert actions.count("vault.secret.rotation.retire") == 3, actions
    assert first["secretText"] not in audit.text
    assert all(e["result"] == "success" for e in events), events

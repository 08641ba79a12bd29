"""Interop: the walk off a secret (`sigil report`, `sigil migrate`) with a real workload. An
azure-identity loop gets a token every second through the whole walk: it starts on the secret,
its configuration is switched to the certificate the plan proposed, then `finish`, `rollback` and
`finish` again run, and not one of its requests fails. The reports follow the app from
secret-only to secretless; every bad input gets one clear line and changes nothing."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import SigilCli
from helpers import make_certificate
from test_cli import fails

RESOURCE = "api://migration-api"
CLIENT = Path(__file__).with_name("migration_client.py")


class Workload:
    """migration_client.py running against `server` as `app`, its output collected as it comes."""

    def __init__(self, server, app: dict, directory: Path, secret: str):
        self.config = directory / "workload.json"
        self.stop_file = directory / "stop"
        self.configure({"secret": secret})
        self.lines: list[dict] = []
        self.process = subprocess.Popen(
            [sys.executable, str(CLIENT), server.tenant, app["appId"], server.base_url, f"{RESOURCE}/.default",
             str(self.config), str(self.stop_file)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**__import__("os").environ, "REQUESTS_CA_BUNDLE": server.ca_file})
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(json.loads(line))

    def configure(self, settings: dict):
        staged = self.config.with_suffix(".new")
        staged.write_text(json.dumps(settings))
        staged.replace(self.config)  # atomically: the loop never reads half a file

    def wait_for(self, using: str, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        start = len(self.lines)
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the workload stopped: {self.process.stderr.read()}"
            if sum(1 for line in self.lines[start:] if line["using"] == using and line["ok"]) >= count:
                return
            time.sleep(0.2)
        raise AssertionError(f"no {count} tokens with the {using} within {timeout} s: {self.lines[start:]}")

    def finish(self) -> int:
        self.stop_file.write_text("stop")
        rc = self.process.wait(timeout=30)
        self.reader.join(timeout=10)
        return rc


def token_with_secret(server, app: dict, secret: str) -> requests.Response:
    return requests.post(server.token_endpoint, data={
        "grant_type": "client_credentials", "client_id": app["appId"], "client_secret": secret, "scope": f"{RESOURCE}/.default",
    }, verify=server.ca_file, timeout=10)


@pytest.fixture(scope="module")
def tenant(start_server, tmp_path_factory):
    """A server of its own, so that the tenant's shares are exactly this walk's."""
    server = start_server(name="migration")
    cli = SigilCli(tmp_path_factory.mktemp("migration-cli") / "profile.json", binary=server.binary)
    cli.login(server)
    cli.json("app", "create", "migration-api", "--identifier-uri", RESOURCE)
    return server, cli


def test_reports_over_a_window_without_sign_ins_say_so(tenant):
    _, cli = tenant
    for report in ("secretless", "stages"):
        line = fails(cli, "report", report, "--days", "7", "--until", "2020-01-31")
        assert "No successful sign-ins" in line and "2020-01-25T00:00:00Z" in line and "--until" in line, line
    assert "a date such as" in fails(cli, "report", "stages", "--until", "yesterday")
    assert "from 1 to 3650" in fails(cli, "report", "secretless", "--days", "0")
    assert "from 1 to 3650" in fails(cli, "report", "inventory", "--unused-days", "9999")


def test_a_workload_walks_off_its_secret_without_one_failed_request(tenant, tmp_path):
    server, cli = tenant
    name = f"billing-{uuid.uuid4().hex[:6]}"
    app = cli.json("app", "create", name)
    secret = cli.json("app", "secret", "add", name, "--lifetime", "P20D")
    assert "no client secret with recorded sign-ins" in fails(cli, "migrate", "plan", name)
    assert "was never migrated" in fails(cli, "migrate", "rollback", name)

    workload = Workload(server, app, tmp_path, secret["secretText"])
    try:
        workload.wait_for("secret", 3)

        # The reports see a secret-only app and a tenant with no secretless sign-in yet.
        stages = {row["appId"]: row for row in cli.json("report", "stages", "--days", "1")["value"]}
        assert stages[app["appId"]]["stage"] == "secret-only" and stages[app["appId"]]["enabledSecrets"] == 1, stages
        # The admin CLI's own sign-ins (with its key) are the tenant's only secretless ones so far.
        share = cli.json("report", "secretless", "--days", "1")
        assert share["apps"] == 2 and share["secretlessApps"] == 1 and share["appShare"] == 0.5, share
        assert share["signIns"] - share["secretlessSignIns"] >= 3 and 0 < share["signInShare"] < 1, share
        assert [day["appShare"] for day in share["daily"]] == [0.5], share
        inventory = {row["keyId"]: row for row in cli.json("report", "inventory")["value"]}
        used = inventory[secret["keyId"]]
        assert used["credentialType"] == "clientSecret" and used["state"] == "enabled" and used["signIns"] >= 3, used
        assert used["networks"] == ["127.0.0.0/24"] and any("azsdk-python-identity" in ua for ua in used["userAgents"]), used
        assert used["lastUsedDateTime"] and used["expiresDateTime"], used
        stale = cli.json("report", "stale", "--unused-days", "1", "--expiring-days", "21")
        assert secret["keyId"] in {row["keyId"] for row in stale["expiring"]}, stale
        assert secret["keyId"] not in {row["keyId"] for row in stale["unused"]}, "a secret used a second ago is not stale"
        rows = list(csv.DictReader(io.StringIO(cli.run("report", "inventory", "--format", "csv").stdout)))
        row = next(r for r in rows if r["key_id"] == secret["keyId"])
        assert row["type"] == "clientSecret" and row["networks"] == "127.0.0.0/24" and int(row["sign-ins"]) >= 3, row

        # The plan: a loopback source with no agent and no CI in sight gets a certificate.
        plan = cli.json("migrate", "plan", name)
        proposal = plan["secrets"][0]["proposal"]
        assert plan["secrets"][0]["keyId"] == secret["keyId"] and proposal["kind"] == "certificate", plan
        assert proposal["evidence"] and "openssl req -x509" in proposal["snippets"]["openssl"], proposal
        assert app["appId"] in proposal["snippets"]["python"], proposal
        human = cli.run("migrate", "plan", name).stdout
        assert "replace with: certificate" in human and "because" in human, human

        cert = make_certificate(tmp_path, name)
        applied = cli.json("migrate", "apply", name, "--cert", str(cert.cert_file))
        assert applied["state"] == "applied" and applied["secretKeyIds"] == [secret["keyId"]], applied
        other = make_certificate(tmp_path, name + "-other")
        assert "already has a migration that is applied" in fails(cli, "migrate", "apply", name, "--cert", str(other.cert_file))
        assert len(cli.json("app", "show", name)["keyCredentials"]) == 1, "a refused apply created a credential"

        # Still on the secret: finishing now would break the workload, so it is refused.
        line = fails(cli, "migrate", "finish", name, "--soak", "PT30S")
        assert "less than the soak period" in line, line
        assert token_with_secret(server, app, secret["secretText"]).status_code == 200

        workload.configure({"certificate": str(cert.combined_file)})
        workload.wait_for("certificate", 3)
        time.sleep(2.5)
        status = cli.json("migrate", "status", name)
        roles = {(r["role"], r["succeeded"]) for r in status["signInsSinceApplied"]}
        assert ("replacement", True) in roles and ("secret", True) in roles, status

        finished = cli.json("migrate", "finish", name, "--soak", "PT2S")
        assert finished["state"] == "finished" and finished["deleteAfterDateTime"], finished
        refused = token_with_secret(server, app, secret["secretText"])
        assert refused.status_code == 401 and "was disabled" in refused.json()["error_description"], refused.text
        shown = cli.json("app", "show", name)
        assert shown["passwordCredentials"][0]["disabledDateTime"], shown
        assert "already finished" in fails(cli, "migrate", "finish", name, "--soak", "PT2S")
        workload.wait_for("certificate", 2)

        rolled = cli.json("migrate", "rollback", name)
        assert rolled["state"] == "rolledBack", rolled
        assert token_with_secret(server, app, secret["secretText"]).status_code == 200
        assert "Nothing to roll back" in fails(cli, "migrate", "rollback", name)
        workload.wait_for("certificate", 1)
        time.sleep(2.5)  # the secret's own check above was a use: let it age past the soak

        again = cli.json("migrate", "finish", name, "--soak", "PT2S")
        assert again["state"] == "finished", again
        workload.wait_for("certificate", 3)
    finally:
        rc = workload.finish()
    failed = [line for line in workload.lines if not line["ok"]]
    assert rc == 0 and not failed, f"requests failed during the walk: {failed}"
    assert {line["using"] for line in workload.lines} == {"secret", "certificate"}

    stages = {row["appId"]: row for row in cli.json("report", "stages", "--days", "1")["value"]}
    assert stages[app["appId"]]["stage"] == "secret-and-secretless" and stages[app["appId"]]["enabledSecrets"] == 0, stages
    # The next day, the workload's sign-ins are all secretless: the shares for today only still
    # count its morning on the secret, so the per-app stage is the figure that moved.
    share = cli.json("report", "secretless", "--days", "1")
    assert share["apps"] == 2 and share["secretlessApps"] == 1, share

    deleted = cli.json("migrate", "finish", name, "--delete")
    assert deleted["state"] == "deleted" and cli.json("app", "show", name)["passwordCredentials"] == [], deleted


def test_bad_migration_input_changes_nothing(tenant):
    _, cli = tenant
    name = f"orders-{uuid.uuid4().hex[:6]}"
    cli.json("app", "create", name)
    before = cli.json("app", "show", name)
    assert "never migrated" in fails(cli, "migrate", "status", name)
    assert "never migrated" in fails(cli, "migrate", "finish", name)
    assert "no client secret left" in fails(cli, "migrate", "apply", name, "--issuer", "https://token.actions.githubusercontent.com",
                                            "--subject", "repo:contoso/orders:ref:refs/heads/main")
    cli.json("app", "secret", "add", name)
    assert "exactly one of" in fails(cli, "migrate", "apply", name)
    assert "--issuer needs --subject" in fails(cli, "migrate", "apply", name, "--issuer", "https://token.actions.githubusercontent.com")
    assert "at least one second" in fails(cli, "migrate", "finish", name, "--soak", "P0D")
    after = cli.json("app", "show", name)
    assert after["keyCredentials"] == before["keyCredentials"] == [], after
    assert cli.json("app", "federated", "list", name)["value"] == [], "a refused apply created a federated credential"

"""A leaked client secret, end to end: the admin CLI creates the app and its secrets, a scanner's
leak report (only SHA-256 of the secret, as `sigil scan --report` will send it) revokes the secret,
azure-identity and plain OAuth clients are then refused with AADSTS7000215 and a message that says
why, the other secret keeps working, and `sigil risk` / `sigil app show` show what happened."""

from __future__ import annotations

import hashlib
import uuid

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

from conftest import AdminAPI


def token_request(sigil, client_id: str, secret: str) -> requests.Response:
    return requests.post(sigil.token_endpoint, timeout=10, data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": f"{client_id}/.default"})


def test_a_reported_secret_is_revoked_and_shown(cli, sigil):
    name = f"leaky-{uuid.uuid4().hex[:6]}"
    app = cli.json("app", "create", name)
    leaked = cli.json("app", "secret", "add", name, "--name", "checked in by mistake")
    kept = cli.json("app", "secret", "add", name, "--name", "in the vault")
    assert token_request(sigil, app["appId"], leaked["secretText"]).status_code == 200

    assert cli.json("risk", "list", "--app", name)["value"] == []
    assert cli.run("risk", "list", "--app", name).stdout.split() == ["ID", "DETECTED", "APP", "TYPE", "LEVEL", "STATE", "KEY", "IDS", "SOURCE"]
    assert cli.json("app", "show", name)["riskLevel"] == "none"

    # The scanner's report: SHA-256 of the secret, never the secret.
    sha256 = hashlib.sha256(leaked["secretText"].encode()).hexdigest()
    admin = AdminAPI(sigil)
    report = admin.ok("POST", "leakedCredentials", {"sha256": [sha256], "source": "sigil scan --git /srv/leaky"})
    assert report["value"] == [{"sha256": sha256, "status": "revoked", "appId": app["appId"], "keyId": leaked["keyId"], "displayName": name}]
    assert leaked["secretText"] not in str(report)

    # Refused at once, with the reason, by a plain OAuth client and by azure-identity.
    refused = token_request(sigil, app["appId"], leaked["secretText"])
    assert refused.status_code == 401, refused.text
    body = refused.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert "access_token" not in body
    assert "revoked" in body["error_description"] and "reported leaked" in body["error_description"], body
    assert leaked["secretText"] not in refused.text
    credential = ClientSecretCredential(sigil.tenant, app["appId"], leaked["secretText"],
                                        authority=sigil.base_url, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as failure:
        credential.get_token(f"{app['appId']}/.default")
    assert "AADSTS7000215" in str(failure.value) and "reported leaked" in str(failure.value), str(failure.value)
    # The app's other secret is untouched.
    assert token_request(sigil, app["appId"], kept["secretText"]).status_code == 200

    # Reported again: nothing more happens.
    again = admin.ok("POST", "leakedCredentials", {"sha256": [sha256], "source": "sigil scan --git /srv/leaky"})
    assert again["value"][0]["status"] == "alreadyRevoked"

    detections = cli.json("risk", "list", "--app", name)["value"]
    assert len(detections) == 1
    detection = detections[0]
    assert detection["riskEventType"] == "leakedCredentials"
    assert detection["riskLevel"] == "high" and detection["riskState"] == "atRisk"
    assert detection["appId"] == app["appId"] and detection["keyIds"] == [leaked["keyId"]]
    assert detection["source"] == "sigil scan --git /srv/leaky"
    rows = cli.run("risk", "list", "--app", name).stdout.splitlines()
    assert any(detection["id"] in row and name in row and "leakedCredentials" in row and "atRisk" in row for row in rows[1:]), rows

    shown = cli.json("app", "show", name)
    assert shown["riskLevel"] == "high" and shown["riskState"] == "atRisk"
    by_key = {credential["keyId"]: credential for credential in shown["passwordCredentials"]}
    assert "revokedDateTime" in by_key[leaked["keyId"]] and "revokedDateTime" not in by_key[kept["keyId"]]
    text = cli.run("app", "show", name).stdout
    assert "REVOKED" in text and "reported leaked" in text.lower()
    row = next(line for line in text.splitlines() if leaked["keyId"] in line)
    assert by_key[leaked["keyId"]]["revokedDateTime"] in row
    assert leaked["secretText"] not in text

    # Dismissed: the risk drops, the secret stays revoked, and both changes are audited.
    assert "dismissed" in cli.run("risk", "dismiss", detection["id"]).stdout
    shown = cli.json("app", "show", name)
    assert shown["riskLevel"] == "none" and shown["riskState"] == "dismissed"
    assert token_request(sigil, app["appId"], leaked["secretText"]).status_code == 401
    actions = [event["activityDisplayName"] for event in cli.json("logs", "audit", "--top", "20")["value"]]
    assert "riskDetection.dismiss" in actions and "application.passwordCredential.revoke" in actions


def test_risk_mistakes_get_one_clear_line(cli):
    from test_cli import fails
    assert "No risk detection" in fails(cli, "risk", "dismiss", str(uuid.uuid4()))
    assert "No application 'no-such-app'" in fails(cli, "risk", "list", "--app", "no-such-app")


def test_sigil_scan_report_revokes_the_secret_it_finds(cli, sigil, tmp_path):
    """`sigil scan --report` sends the hash of each Sigil secret it finds; the server revokes it and
    the scanner shows `validity: revoked`. A Sigil-format secret the server never issued is
    `not-registered`; neither value ever appears in the output."""
    name = f"scanned-{uuid.uuid4().hex[:6]}"
    app = cli.json("app", "create", name)
    leaked = cli.json("app", "secret", "add", name)["secretText"]
    assert token_request(sigil, app["appId"], leaked).status_code == 200
    removed = cli.json("app", "secret", "add", name)
    stranger = removed["secretText"]
    cli.run("app", "secret", "remove", name, removed["keyId"])
    (tmp_path / "settings.py").write_text(f'CLIENT_ID = "{app["appId"]}"\nCLIENT_SECRET = "{leaked}"\n')
    (tmp_path / "old.env").write_text(f"SIGIL_SECRET={stranger}\n")

    scan = cli.run("scan", str(tmp_path), "--report", "--format", "json", check=False)
    assert scan.returncode == 1, scan.stderr
    assert leaked not in scan.stdout + scan.stderr and stranger not in scan.stdout + scan.stderr
    findings = {f["file"]: f for f in __import__("json").loads(scan.stdout)["findings"]}
    assert findings["settings.py"]["rule"] == "sigil-client-secret"
    assert findings["settings.py"]["validity"] == "revoked"
    assert findings["old.env"]["validity"] == "not-registered"
    assert f"Reported 2 Sigil secrets to the server: 1 revoked now ({name}), 0 already revoked, 1 not registered in this tenant." \
        in scan.stderr, scan.stderr

    refused = token_request(sigil, app["appId"], leaked)
    assert refused.status_code == 401 and "reported leaked" in refused.json()["error_description"]
    detections = cli.json("risk", "list", "--app", name)["value"]
    assert [d["riskEventType"] for d in detections] == ["leakedCredentials"]
    assert detections[0]["source"].startswith("sigil scan ")
    text = cli.run("scan", str(tmp_path / "settings.py"), check=False).stdout
    assert "sigil-client-secret" in text and leaked not in text


def test_a_hook_bypass_is_recorded_in_the_audit_log(cli, sigil, tmp_path):
    """A commit that goes past the pre-commit hook with a reason is let through and audited."""
    import subprocess
    repo = tmp_path / "repo"
    env = dict(__import__("os").environ, SIGIL_PROFILE=str(cli.profile), GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.com",
               GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.com", GIT_CONFIG_GLOBAL="/dev/null")
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(repo)], check=True, env=env)
    cli.run("scan", "hook", "install", "--repository", str(repo))
    secret = cli.json("app", "secret", "add", cli.json("app", "create", f"hooked-{uuid.uuid4().hex[:6]}")["displayName"])["secretText"]
    (repo / "fixture.env").write_text(f"SECRET={secret}\n")
    subprocess.run(["git", "add", "fixture.env"], cwd=repo, check=True, env=env)
    blocked = subprocess.run(["git", "commit", "-qm", "fixture"], cwd=repo, env=env, capture_output=True, text=True)
    assert blocked.returncode != 0 and "fixture.env:1 sigil-client-secret" in blocked.stderr, blocked.stderr
    env["SIGIL_SCAN_BYPASS"] = "test fixture, revoked already"
    passed = subprocess.run(["git", "commit", "-qm", "fixture"], cwd=repo, env=env, capture_output=True, text=True)
    assert passed.returncode == 0, passed.stderr
    assert "allowed by bypass: test fixture, revoked already" in passed.stderr
    assert "recorded in Sigil's audit log" in passed.stderr
    assert secret not in passed.stderr + blocked.stderr
    events = [e for e in cli.json("logs", "audit")["value"] if e["activityDisplayName"] == "secretScan.bypass"]
    assert events and "test fixture, revoked already" in __import__("json").dumps(events[0])

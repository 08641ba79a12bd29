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

"""Issue 10, item 10: workload risk from sign-ins, through a real client and the CLI. The server
trusts the test's loopback connection as a proxy, so X-Forwarded-For says where each sign-in
comes from; the learning period is off, so the second network is already suspicious."""

from __future__ import annotations

import uuid

import requests

from conftest import SigilCli
from test_cli import fails


def test_risk_list_show_dismiss_and_confirm_compromised(start_server, tmp_path):
    server = start_server(name="risk", args=["--trusted-proxy", "127.0.0.1/32", "--risk-learning-period", "PT0S"])
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    name = f"roamer-{uuid.uuid4().hex[:6]}"
    app = cli.json("app", "create", name)
    cli.run("app", "create", f"orders-{name}", "--identifier-uri", f"api://orders-{name}")
    secret = cli.json("app", "secret", "add", name)["secretText"]

    def sign_in(address: str) -> requests.Response:
        return requests.post(server.token_endpoint, verify=server.ca_file, timeout=10, headers={"X-Forwarded-For": address}, data={
            "grant_type": "client_credentials", "client_id": app["appId"], "client_secret": secret,
            "scope": f"api://orders-{name}/.default"})

    assert sign_in("198.51.100.7").status_code == 200
    assert sign_in("198.51.100.8").status_code == 200
    assert cli.json("risk", "list", "--app", name)["value"] == []
    assert sign_in("203.0.113.50").status_code == 200

    detections = cli.json("risk", "list", "--app", name)["value"]
    assert [(d["riskEventType"], d["riskLevel"], d["ipAddress"]) for d in detections] == [("suspiciousSignins", "medium", "203.0.113.50")]
    shown = cli.run("risk", "show", detections[0]["id"]).stdout
    assert "network" in shown and "203.0.113.0/24" in shown and "newNetwork" in shown
    overview = cli.json("risk", "show", name)
    assert overview["riskLevel"] == "medium" and len(overview["detections"]) == 1
    principals = cli.json("risk", "list", "--principals")["value"]
    assert [(p["displayName"], p["riskLevel"]) for p in principals if p["appId"] == app["appId"]] == [(name, "medium")]

    # Conditional Access uses the risk at once: a policy blocking medium and high risk refuses the
    # next sign-in, even from a known network, until the detection is dismissed.
    cli.run("policy", "ca", "create", "--name", f"risky {name}", "--sp", name, "--risk", "medium", "--risk", "high", "--state", "enabled")
    blocked = sign_in("198.51.100.7")
    assert blocked.status_code == 400 and blocked.json()["error"] == "access_denied" and 53003 in blocked.json()["error_codes"], blocked.text
    assert "is dismissed" in cli.run("risk", "dismiss", detections[0]["id"]).stdout
    assert cli.json("risk", "show", name)["riskLevel"] == "none"
    assert sign_in("198.51.100.7").status_code == 200

    assert "confirmed compromised: risk high" in cli.run("risk", "confirm-compromised", name).stdout
    assert cli.json("risk", "show", name)["riskLevel"] == "high"
    assert sign_in("198.51.100.7").status_code == 400, "confirmed compromised: blocked by the risk policy"
    assert "No application" in fails(cli, "risk", "confirm-compromised", f"nobody-{name}")
    events = [e["activityDisplayName"] for e in cli.json("logs", "audit", "--top", "50")["value"]]
    assert "servicePrincipal.confirmCompromised" in events and "riskDetection.dismiss" in events


def test_the_learning_period_flag_is_checked(sigil_bin, tmp_path):
    import subprocess
    result = subprocess.run([sigil_bin, "serve", "--data", str(tmp_path / "data"), "--listen", "127.0.0.1:0", "--risk-learning-period", "P2Y"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "--risk-learning-period must be an ISO-8601 duration from PT0S to P365D" in result.stderr
    assert not (tmp_path / "data").exists()

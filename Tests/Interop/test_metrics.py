"""Monitoring the way an operator does: Prometheus's own parser reads `/metrics` after
azure-identity got tokens, the probes answer, and `--log-format json` gives one JSON object a line
with no secret in any of them."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential
from prometheus_client.parser import text_string_to_metric_families

from conftest import SigilCli
from helpers import well_formed_wrong_secret

ORDERS = "api://metrics-orders"


def scrape(server) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics by (name, sorted labels), read by prometheus_client's parser."""
    r = requests.get(f"{server.base_url}/metrics", verify=server.ca_file, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = list(text_string_to_metric_families(r.text))
    names = [family.name for family in families]
    assert names and all(name.startswith("sigil_") for name in names), names
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value for family in families for sample in family.samples}


def token_requests(samples, result: str, credential_type: str, error: str) -> float:
    labels = tuple(sorted({"result": result, "credential_type": credential_type, "error": error}.items()))
    return samples.get(("sigil_token_requests_total", labels), 0.0)


def test_metrics_count_azure_identity_tokens_and_json_logs_hold_no_secret(start_server, tmp_path):
    server = start_server(name="metrics", args=["--log-format", "json", "--log-level", "debug", "--metrics-refresh", "PT0S"])
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    cli.json("app", "create", "metrics-orders", "--identifier-uri", ORDERS)
    client = cli.json("app", "create", "metrics-client")
    secret = cli.json("app", "secret", "add", "metrics-client", "--lifetime", "P5D")["secretText"]

    assert requests.get(f"{server.base_url}/healthz", verify=server.ca_file, timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{server.base_url}/readyz", verify=server.ca_file, timeout=5).json() == {"status": "ready"}
    before = scrape(server)
    for _ in range(3):  # a credential caches its token: a new one each time asks the server
        credential = ClientSecretCredential(server.tenant, client["appId"], secret, authority=server.base_url,
                                            disable_instance_discovery=True, connection_verify=server.ca_file)
        assert credential.get_token(f"{ORDERS}/.default").token
    wrong = ClientSecretCredential(server.tenant, client["appId"], well_formed_wrong_secret(), authority=server.base_url,
                                   disable_instance_discovery=True, connection_verify=server.ca_file)
    with pytest.raises(ClientAuthenticationError):
        wrong.get_token(f"{ORDERS}/.default")
    # A client that puts its secret in the query: the request is logged, the query is not.
    leaky = requests.get(f"{server.token_endpoint}?client_id={client['appId']}&client_secret={secret}", verify=server.ca_file, timeout=10)
    assert leaky.status_code == 405
    after = scrape(server)

    assert token_requests(after, "success", "clientSecret", "") - token_requests(before, "success", "clientSecret", "") == 3
    assert token_requests(after, "failure", "clientSecret", "invalid_client") - token_requests(before, "failure", "clientSecret", "invalid_client") == 1
    token_ok = ("sigil_http_request_duration_seconds_count", (("route", "token"), ("status", "2xx")))
    assert after[token_ok] - before[token_ok] == 3
    assert after[("sigil_credentials_expiring", (("type", "passwordCredential"), ("within", "7d")))] == 1
    assert any(name == "sigil_signing_key_age_seconds" and dict(labels)["state"] == "active" for name, labels in after)
    assert ("sigil_signin_recorder_queue", ()) in after
    assert after[("sigil_store_query_duration_seconds_count", (("operation", "write"),))] > 0

    assert server.stop() == 0
    lines = [line for line in server.stderr_text().splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line that is not JSON: {line!r}")
    assert all(isinstance(r, dict) and {"time", "level", "message"} <= set(r) for r in records)
    requests_logged = [r for r in records if r["message"] == "request"]
    assert any(r["path"] == f"/{server.tenant}/oauth2/v2.0/token" and r["method"] == "POST" and r["status"] == "200" for r in requests_logged)
    assert any(r["path"] == f"/{server.tenant}/oauth2/v2.0/token" and r["method"] == "GET" and r["status"] == "405" for r in requests_logged)
    assert all(float(r["duration_ms"]) >= 0 and r["client"] == "127.0.0.1" for r in requests_logged)
    assert secret not in server.stderr_text()
    assert secret[4:44] not in server.stderr_text()


def test_metrics_off_serves_none_and_a_bad_token_file_stops_the_start(start_server, sigil_bin, tmp_path):
    server = start_server(name="metrics-off", args=["--metrics", "off"])
    assert requests.get(f"{server.base_url}/metrics", verify=server.ca_file, timeout=5).status_code == 404
    assert requests.get(f"{server.base_url}/readyz", verify=server.ca_file, timeout=5).status_code == 200

    short = tmp_path / "short-token"
    short.write_text("tooshort\n")
    cases = [
        (["--metrics", "maybe"], "--metrics must be on or off"),
        (["--metrics-refresh", "PT2H"], "--metrics-refresh must be an ISO-8601 duration from PT0S to PT1H"),
        (["--metrics", "off", "--metrics-token-file", str(short)], "--metrics-token-file needs --metrics on"),
        (["--metrics-token-file", str(short)], "must hold one token of 16 to 512 printable characters"),
        (["--metrics-token-file", str(tmp_path / "missing")], "cannot be read"),
    ]
    for args, says in cases:
        result = subprocess.run([sigil_bin, "serve", "--data", str(tmp_path / "data"), "--listen", "127.0.0.1:0", *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0 and says in result.stderr, (args, result.stderr)
        assert "tooshort" not in result.stderr + result.stdout

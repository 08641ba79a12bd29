"""Conditional Access for workload identities, driven as an administrator and a workload would:
the CLI creates named locations and policies, tries a policy with what-if and impact over the
sign-ins it recorded, and switches it on; azure-identity and plain requests then get blocked
(AADSTS53003) or not. A spoofed X-Forwarded-For from an untrusted peer escapes nothing; behind a
--trusted-proxy the forwarded address counts. Bad input first."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

from conftest import SigilCli
from test_cli import fails

OFFICE = "198.51.100.0/24"      # the trusted location; test clients connect from 127.0.0.1, outside it
IN_OFFICE = "198.51.100.7"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def workload(cli: SigilCli) -> dict:
    """An API, a client granted its role, and the client's secret."""
    api, client = unique("ca-api"), unique("ca-client")
    cli.run("app", "create", api, "--identifier-uri", f"api://{api}", "--role-required")
    cli.run("app", "role", "add", api, "Data.Read")
    cli.run("app", "create", client)
    cli.run("app", "grant", client, api, "Data.Read")
    secret = cli.json("app", "secret", "add", client)["secretText"]
    return {"api": api, "name": client, "appId": cli.json("app", "show", client)["appId"], "secret": secret}


def token(server, app: dict, headers: dict | None = None) -> requests.Response:
    return requests.post(server.token_endpoint, timeout=10, verify=server.ca_file, headers=headers or {}, data={
        "grant_type": "client_credentials", "client_id": app["appId"], "client_secret": app["secret"], "scope": f"api://{app['api']}/.default"})


def test_bad_input_gets_one_clear_line_and_changes_nothing(cli, sigil):
    name = unique("ca-bad")
    assert "did you mean 10.0.0.0/8?" in fails(cli, "policy", "ca", "location", "create", "--name", name, "--cidr", "10.1.2.3/8")
    assert "write the IPv4 range 10.0.0.0/8 instead" in fails(cli, "policy", "ca", "location", "create", "--name", name, "--cidr", "::ffff:10.0.0.0/104")
    assert "10.20.0.0/16 overlaps 10.0.0.0/8" in fails(cli, "policy", "ca", "location", "create", "--name", name, "--cidr", "10.0.0.0/8", "--cidr", "10.20.0.0/16")
    assert "not an IPv4 or IPv6 address" in fails(cli, "policy", "ca", "location", "create", "--name", name, "--cidr", "office/24")
    assert not any(loc["displayName"] == name for loc in cli.json("policy", "ca", "location", "list")["value"])

    app = workload(cli)
    assert "'no-such-sp', which is no service principal" in fails(cli, "policy", "ca", "create", "--name", name, "--sp", "no-such-sp")
    assert "could never apply" in fails(cli, "policy", "ca", "create", "--name", name, "--sp", app["name"], "--exclude-sp", app["name"])
    assert "no named location" in fails(cli, "policy", "ca", "create", "--name", name, "--sp", app["name"], "--location", "atlantis")
    assert "state must be" in fails(cli, "policy", "ca", "create", "--name", name, "--sp", app["name"], "--state", "on")
    assert "lock you out" in fails(cli, "policy", "ca", "create", "--name", name, "--sp", "All", "--state", "enabled")
    assert not any(p["displayName"] == name for p in cli.json("policy", "ca", "list")["value"])

    location = unique("ca-used")
    cli.run("policy", "ca", "location", "create", "--name", location, "--cidr", "203.0.113.0/24")
    cli.run("policy", "ca", "create", "--name", name, "--sp", app["name"], "--location", location)
    assert f"used by the policies '{name}'" in fails(cli, "policy", "ca", "location", "delete", location)
    cli.run("policy", "ca", "delete", name)
    cli.run("policy", "ca", "location", "delete", location)


def test_try_with_what_if_and_impact_then_block(cli, sigil, tmp_path):
    app = workload(cli)
    office = unique("ca-office")
    created = cli.json("policy", "ca", "location", "create", "--name", office, "--cidr", OFFICE, "--cidr", "2001:db8::/32", "--trusted")
    assert created["isTrusted"] is True and [r["cidrAddress"] for r in created["ipRanges"]] == [OFFICE, "2001:db8::/32"]
    assert created["ipRanges"][0]["@odata.type"] == "#microsoft.graph.iPv4CidrRange"

    # Sign-ins to replay: three tokens from 127.0.0.1, through azure-identity.
    for _ in range(3):
        credential = ClientSecretCredential(sigil.tenant, app["appId"], app["secret"], authority=sigil.base_url, disable_instance_discovery=True)
        assert credential.get_token(f"api://{app['api']}/.default").token

    policy_name = unique("ca-outside")
    draft = {
        "displayName": policy_name, "state": "reportOnly",
        "conditions": {"clientApplications": {"includeServicePrincipals": [app["name"]]},
                       "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]},
    }
    draft_file = tmp_path / "draft.json"
    draft_file.write_text(json.dumps(draft))
    impact = cli.json("policy", "ca", "impact", str(draft_file), "--days", "30")
    assert impact["blockedSignIns"] == 3
    assert [sp["appId"] for sp in impact["servicePrincipals"]] == [app["appId"]]
    assert all(s["ipAddress"] == "127.0.0.1" and s["appId"] == app["appId"] for s in impact["signIns"])
    text = cli.run("policy", "ca", "impact", str(draft_file), "--days", "30").stdout
    assert "3 would have been blocked" in text and app["name"] in text

    policy = cli.json("policy", "ca", "create", "--file", str(draft_file))
    assert policy["state"] == "enabledForReportingButNotEnforced"
    sp_id = cli.json("app", "show", app["name"])["servicePrincipalId"]
    assert policy["conditions"]["clientApplications"]["includeServicePrincipals"] == [sp_id]
    # Report-only never blocks; the sign-in notes what would have happened.
    assert token(sigil, app).status_code == 200

    what_if = cli.json("policy", "ca", "what-if", "--sp", app["appId"], "--ip", "203.0.113.9")
    verdict = next(p for p in what_if["policies"] if p["displayName"] == policy_name)
    assert verdict["result"] == "reportOnlyFailure" and "would be blocked" in verdict["reason"]
    inside = cli.run("policy", "ca", "what-if", "--sp", app["name"], "--ip", IN_OFFICE).stdout
    assert f"{office} (trusted)" in inside and f"is in the excluded location '{office}'" in inside

    cli.run("policy", "ca", "set", policy_name, "--state", "enabled")
    credential = ClientSecretCredential(sigil.tenant, app["appId"], app["secret"], authority=sigil.base_url, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as failure:
        credential.get_token(f"api://{app['api']}/.default")
    assert "AADSTS53003" in str(failure.value) and policy_name in str(failure.value)
    refused = token(sigil, app)
    assert refused.status_code == 400 and refused.json()["error"] == "access_denied" and refused.json()["error_codes"] == [53003]
    assert uuid.UUID(refused.json()["correlation_id"])

    rows = cli.run("logs", "signins", "--app", app["appId"], "--top", "1").stdout.splitlines()
    assert rows[1].rstrip().endswith(f"failure by {policy_name}"), rows
    logged = cli.json("logs", "signins", "--app", app["appId"], "--top", "1")["value"][0]
    assert logged["correlationId"] == refused.json()["correlation_id"]
    assert {"id": policy["id"], "displayName": policy_name, "result": "failure"} in logged["appliedConditionalAccessPolicies"]

    # Excluded, it passes at once; deleted, the location can go too.
    cli.run("policy", "ca", "set", policy_name, "--sp", "All", "--exclude-sp", app["name"], "--exclude-sp", "sigil-bootstrap-admin")
    assert token(sigil, app).status_code == 200
    cli.run("policy", "ca", "delete", policy_name)
    cli.run("policy", "ca", "location", "delete", office)


def blocked_outside_office(cli: SigilCli) -> dict:
    app = workload(cli)
    cli.run("policy", "ca", "location", "create", "--name", unique("office"), "--cidr", OFFICE, "--trusted")
    cli.run("policy", "ca", "create", "--name", unique("outside"), "--sp", app["name"], "--exclude-location", "AllTrusted", "--state", "enabled")
    return app


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_escapes_nothing(cli, sigil):
    app = blocked_outside_office(cli)
    assert token(sigil, app).json()["error_codes"] == [53003]
    # The header names the trusted office; the server trusts no proxy, so the peer is the client.
    spoofed = token(sigil, app, headers={"X-Forwarded-For": IN_OFFICE})
    assert spoofed.status_code == 400 and spoofed.json()["error_codes"] == [53003]
    logged = cli.json("logs", "signins", "--app", app["appId"], "--top", "1")["value"][0]
    assert logged["ipAddress"] == "127.0.0.1"


def test_behind_a_trusted_proxy_the_forwarded_address_counts(start_server, tmp_path):
    server = start_server(name="ca-proxied", args=["--trusted-proxy", "127.0.0.1/32"])
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    app = blocked_outside_office(cli)
    assert token(server, app).json()["error_codes"] == [53003], "no header: the proxy's own address is outside"
    assert token(server, app, headers={"X-Forwarded-For": IN_OFFICE}).status_code == 200
    # A client-supplied hop before the proxy's is ignored: the right-most untrusted address counts.
    assert token(server, app, headers={"X-Forwarded-For": f"{IN_OFFICE}, 203.0.113.50"}).json()["error_codes"] == [53003]
    assert cli.json("logs", "signins", "--app", app["appId"], "--top", "1")["value"][0]["ipAddress"] == "203.0.113.50"

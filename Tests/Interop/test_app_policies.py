"""App management policies through the CLI, as an administrator meets them: a new tenant refuses
client secrets until `sigil policy app set --allow-secrets` (audited), an app's own policy replaces
the default, refusals say what is allowed and change nothing, certificates must come from a trusted
CA, and secrets that exist keep working while `sigil policy app report` lists them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import SigilCli
from helpers import make_certificate
from test_cli import fails


@pytest.fixture
def secretless(start_server, tmp_path):
    """A fresh server whose tenant keeps its secretless default, and a CLI logged in to it."""
    server = start_server(name="secretless", allow_secrets=False)
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    yield server, cli
    server.stop()


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def audit_actions(cli: SigilCli) -> list[str]:
    return [event["activityDisplayName"] for event in cli.json("logs", "audit")["value"]]


def test_a_new_tenant_refuses_secrets_until_allow_secrets_on_the_record(secretless):
    server, cli = secretless
    app = name("worker")
    cli.run("app", "create", app)
    message = fails(cli, "app", "secret", "add", app, "--lifetime", "P30D")
    assert "Policy 'Default app management policy' (restriction passwordAddition) does not allow client secrets" in message, message
    assert cli.json("app", "show", app)["passwordCredentials"] == []
    shown = cli.run("policy", "app", "show").stdout
    assert "passwordAddition" in shown and "enabled" in shown

    allowed = cli.json("policy", "app", "set", "--allow-secrets")
    [restriction] = allowed["applicationRestrictions"]["passwordCredentials"]
    assert (restriction["restrictionType"], restriction["state"]) == ("passwordAddition", "disabled")
    assert cli.json("app", "secret", "add", app, "--lifetime", "P30D")["secretText"].startswith("sgs_")
    assert "defaultAppManagementPolicy.allowSecrets" in audit_actions(cli)

    cli.run("policy", "app", "set", "--block-secrets")
    assert audit_actions(cli)[0] == "defaultAppManagementPolicy.blockSecrets"
    assert "passwordAddition" in fails(cli, "app", "secret", "add", app)


def test_an_apps_own_policy_replaces_the_default(secretless):
    server, cli = secretless
    legacy, modern = name("legacy"), name("modern")
    cli.run("app", "create", legacy)
    cli.run("app", "create", modern)
    own = cli.json("policy", "app", "set", "--app", legacy, "--max-secret-lifetime", "P90D")
    assert [r["restrictionType"] for r in own["restrictions"]["passwordCredentials"]] == ["passwordLifetime"]
    assert cli.json("policy", "app", "show", "--app", legacy)["id"] == own["id"]

    before = cli.json("app", "show", legacy)
    message = fails(cli, "app", "secret", "add", legacy, "--lifetime", "P365D")
    assert message == (f"error: Policy '{own['displayName']}' (restriction passwordLifetime) allows client secrets to last at most "
                       "P90D; you asked for P365D. Ask for P90D or less."), message
    assert cli.json("app", "show", legacy) == before
    cli.run("app", "secret", "add", legacy, "--lifetime", "P30D")      # nothing inherited: no passwordAddition
    assert "passwordAddition" in fails(cli, "app", "secret", "add", modern, "--lifetime", "P30D")

    # A second set --app changes the same policy; unassigned, the default applies again.
    again = cli.json("policy", "app", "set", "--app", legacy, "--max-secret-lifetime", "P10D")
    assert again["id"] == own["id"] and again["restrictions"]["passwordCredentials"][0]["maxLifetime"] == "P10D"
    cli.run("policy", "app", "unassign", "--app", legacy)
    assert "passwordAddition" in fails(cli, "app", "secret", "add", legacy)
    assert "instead of the default" in cli.run("policy", "app", "assign", own["id"], "--app", legacy).stdout
    assert "at most P10D" in fails(cli, "app", "secret", "add", legacy, "--lifetime", "P11D")


def make_ca(directory: Path, common_name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    path = directory / f"{common_name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def issue(directory: Path, ca_key, ca_cert, common_name: str, days: int = 30) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    path = directory / f"{common_name}.cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_certificates_must_come_from_a_trusted_ca(secretless, tmp_path):
    server, cli = secretless
    app = name("signer")
    cli.run("app", "create", app)
    ca_key, ca_cert, ca_file = make_ca(tmp_path, "Orders Issuing CA")
    other_key, other_cert, _ = make_ca(tmp_path, "Somebody Else CA")
    cli.run("policy", "app", "set", "--trusted-ca", str(ca_file), "--max-key-lifetime", "P90D")

    before = cli.json("app", "show", app)
    untrusted = issue(tmp_path, other_key, other_cert, "from-elsewhere")
    message = fails(cli, "app", "cert", "add", app, "--cert", str(untrusted))
    assert "(restriction trustedCertificateAuthority) accepts only certificates issued by 'CN=Orders Issuing CA'" in message, message
    self_signed = make_certificate(tmp_path, "self-signed")
    assert "trustedCertificateAuthority" in fails(cli, "app", "cert", "add", app, "--cert", str(self_signed.cert_file))
    too_long = issue(tmp_path, ca_key, ca_cert, "too-long", days=365)
    assert "allows certificates to last at most P90D" in fails(cli, "app", "cert", "add", app, "--cert", str(too_long))
    assert cli.json("app", "show", app) == before

    trusted = issue(tmp_path, ca_key, ca_cert, "from-our-ca")
    added = cli.json("app", "cert", "add", app, "--cert", str(trusted))
    assert added["type"] == "AsymmetricX509Cert"


def test_bad_policies_get_one_clear_line_and_change_nothing(secretless, tmp_path):
    server, cli = secretless
    before = cli.json("policy", "app", "show")
    for duration, says in [("P0D", "longer than zero"), ("P-1D", "not an ISO-8601 duration"), ("PT", "not an ISO-8601 duration")]:
        assert says in fails(cli, "policy", "app", "set", "--max-secret-lifetime", duration), duration
    not_ca = make_certificate(tmp_path, "leaf-not-ca")
    assert "is not a CA certificate" in fails(cli, "policy", "app", "set", "--trusted-ca", str(not_ca.cert_file))
    bad_files = {
        "twice": {"passwordCredentials": [{"restrictionType": "passwordAddition"}, {"restrictionType": "passwordAddition"}]},
        "unknown": {"passwordCredentials": [{"restrictionType": "noMoreSecretsPlease"}]},
        "old": {"passwordCredentials": [{"restrictionType": "passwordAddition", "restrictForAppsCreatedAfterDateTime": "1960-01-01T00:00:00Z"}]},
        "far": {"passwordCredentials": [{"restrictionType": "passwordAddition", "restrictForAppsCreatedAfterDateTime": "12026-01-01T00:00:00Z"}]},
    }
    expected = {"twice": "listed twice", "unknown": "unknown restriction 'noMoreSecretsPlease'", "old": "before 1970", "far": "from 1970 to 9999"}
    for label, restrictions in bad_files.items():
        path = tmp_path / f"{label}.json"
        path.write_text(json.dumps({"restrictions": restrictions}))
        assert expected[label] in fails(cli, "policy", "app", "set", "--file", str(path)), label
    assert cli.json("policy", "app", "show") == before
    # A past date is how Graph says "every app": accepted.
    path = tmp_path / "past.json"
    path.write_text(json.dumps({"applicationRestrictions": {"passwordCredentials": [
        {"restrictionType": "passwordAddition", "restrictForAppsCreatedAfterDateTime": "2001-01-01T00:00:00Z"}]}}))
    assert cli.json("policy", "app", "set", "--file", str(path))["applicationRestrictions"]["passwordCredentials"][0][
        "restrictForAppsCreatedAfterDateTime"].startswith("2001-01-01T00:00:00")


def test_existing_secrets_keep_working_and_the_report_lists_them(start_server, tmp_path):
    server = start_server(name="tightened")       # the fixture opted out of the secretless default
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    api, worker = name("api"), name("worker")
    cli.run("app", "create", api, "--identifier-uri", f"api://{api}")
    cli.run("app", "create", worker)
    secret = cli.json("app", "secret", "add", worker, "--lifetime", "P30D")
    assert cli.json("policy", "app", "report")["value"] == []
    assert "No working credential breaks" in cli.run("policy", "app", "report").stdout

    cli.run("policy", "app", "set", "--block-secrets", "--max-secret-lifetime", "P7D")
    client_id = cli.json("app", "show", worker)["appId"]
    token = requests.post(server.token_endpoint, verify=server.ca_file, timeout=30, data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret["secretText"],
        "scope": f"api://{api}/.default"})
    assert token.status_code == 200, token.text

    rows = [row for row in cli.json("policy", "app", "report")["value"] if row["keyId"] == secret["keyId"]]
    assert sorted(row["restrictionType"] for row in rows) == ["passwordAddition", "passwordLifetime"]
    assert all(row["appDisplayName"] == worker and row["policyDisplayName"] == "Default app management policy" for row in rows)
    table = cli.run("policy", "app", "report").stdout
    assert worker in table and secret["keyId"] in table and "at most P7D" in table
    server.stop()


def test_key_files_carry_a_lifetime_the_policy_accepts(secretless, tmp_path):
    server, cli = secretless
    app = name("keyed")
    cli.run("app", "create", app)
    cli.run("policy", "app", "set", "--max-key-lifetime", "P90D")
    assert "this key has no end date" in fails(cli, "app", "key", "create", app, "--out", str(tmp_path / "forever.json"))
    assert "at most P90D; this one lasts P365D" in fails(
        cli, "app", "key", "create", app, "--out", str(tmp_path / "year.json"), "--lifetime", "P365D")
    assert not (tmp_path / "forever.json").exists() and not (tmp_path / "year.json").exists()
    created = cli.json("app", "key", "create", app, "--out", str(tmp_path / "month.json"), "--lifetime", "P30D")
    end = dt.datetime.fromisoformat(created["endDateTime"].replace("Z", "+00:00"))
    assert dt.timedelta(days=29) < end - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(days=30)
    assert (tmp_path / "month.json").stat().st_mode & 0o777 == 0o600

"""The admin CLI as an administrator uses it: readable tables, --json with Graph field names, the
secret shown exactly once, and every mistake answered with one clear line and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import uuid

import pytest
import requests

from conftest import ServerStartError, SigilCli


def fails(cli: SigilCli, *args: str) -> str:
    """Runs a command that must fail; returns its one-line error."""
    result = cli.run(*args, check=False)
    assert result.returncode != 0, f"sigil {' '.join(args)} succeeded: {result.stdout}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {result.stderr!r}"
    assert lines[0].startswith("error: "), lines[0]
    assert result.stdout == "", f"stdout should be empty on error: {result.stdout!r}"
    return lines[0]


def test_create_show_list_in_tables_and_json(cli):
    name = f"cli-orders-{uuid.uuid4().hex[:6]}"
    text = cli.run("app", "create", name, "--identifier-uri", f"api://{name}").stdout
    assert "displayName" in text and name in text and f"api://{name}" in text
    shown = cli.json("app", "show", f"api://{name}")          # found by identifier URI
    for field in ("appId", "objectId", "tenantId", "displayName", "identifierUris", "servicePrincipalId",
                  "passwordCredentials", "keyCredentials", "appRoles", "createdDateTime"):
        assert field in shown, field
    assert shown["displayName"] == name
    listed = cli.run("app", "list").stdout.splitlines()
    assert listed[0].split() == ["NAME", "APP", "ID", "IDENTIFIER", "URIS", "ENABLED"]
    assert any(line.startswith(name + " ") for line in listed[1:])
    assert any(app["appId"] == shown["appId"] for app in cli.json("app", "list")["value"])


def test_secret_is_printed_once_and_never_again(cli, sigil):
    name = f"cli-secret-{uuid.uuid4().hex[:6]}"
    cli.run("app", "create", name)
    added = cli.json("app", "secret", "add", name, "--lifetime", "P7D", "--name", "ci")
    secret = added["secretText"]
    assert secret.startswith("sgs_") and len(secret) == 50
    shown = cli.run("app", "show", name).stdout + cli.run("app", "show", name, "--json").stdout
    assert secret not in shown
    assert added["keyId"] in shown and secret[4:7] + "…" in shown     # the hint, not the secret
    audit = cli.run("logs", "audit", "--json").stdout
    assert secret not in audit
    # The human form says to store it now.
    human = cli.run("app", "secret", "add", name).stdout
    assert "secretText" in human and "will not show it again" in human
    cli.run("app", "secret", "remove", name, added["keyId"])
    assert added["keyId"] not in cli.run("app", "show", name).stdout


def test_grant_and_sign_in_log(cli, sigil):
    api, worker = f"cli-api-{uuid.uuid4().hex[:6]}", f"cli-worker-{uuid.uuid4().hex[:6]}"
    cli.run("app", "create", api, "--identifier-uri", f"api://{api}", "--role-required")
    assert "Added role Data.Read" in cli.run("app", "role", "add", api, "Data.Read").stdout
    cli.run("app", "create", worker)
    granted = cli.json("app", "grant", worker, api, "Data.Read")
    assert granted["appRoleValue"] == "Data.Read" and granted["principalDisplayName"] == worker
    secret = cli.json("app", "secret", "add", worker)["secretText"]
    worker_id = cli.json("app", "show", worker)["appId"]
    r = requests.post(sigil.token_endpoint, timeout=10, data={
        "grant_type": "client_credentials", "client_id": worker_id, "client_secret": secret, "scope": f"api://{api}/.default"})
    assert r.status_code == 200, r.text
    rows = cli.run("logs", "signins", "--app", worker_id).stdout.splitlines()
    assert rows[0].split() == ["TIME", "APP", "CREDENTIAL", "VIA", "RESOURCE", "IP", "RESULT", "CA"]
    assert any(worker in row and "clientSecret" in row and "success" in row for row in rows[1:])
    events = cli.json("logs", "signins", "--app", worker_id, "--result", "success", "--since", "PT1H")["value"]
    assert events and all(e["status"]["succeeded"] for e in events)


def test_grants_and_roles_are_shown_and_removed(cli, sigil):
    api, worker = f"cli-rm-api-{uuid.uuid4().hex[:6]}", f"cli-rm-worker-{uuid.uuid4().hex[:6]}"
    cli.run("app", "create", api, "--identifier-uri", f"api://{api}", "--role-required")
    cli.run("app", "role", "add", api, "Data.Write")
    cli.run("app", "create", worker)
    cli.run("app", "grant", worker, f"api://{api}", "Data.Write")
    shown = cli.run("app", "show", worker).stdout
    assert "GRANT ID" in shown and "Data.Write" in shown and api in shown
    assert [g["appRoleValue"] for g in cli.json("app", "show", api)["appRoleAssignments"]] == ["Data.Write"]

    assert "granted to " + worker in fails(cli, "app", "role", "remove", api, "Data.Write")
    assert "holds no role 'Data.Read'" in fails(cli, "app", "grant", "remove", worker, api, "Data.Read")
    assert f"Removed Data.Write of {api} from {worker}" in cli.run("app", "grant", "remove", worker, api, "Data.Write").stdout
    assert "GRANT ID" not in cli.run("app", "show", worker).stdout
    assert "Removed role Data.Write" in cli.run("app", "role", "remove", api, "Data.Write").stdout
    assert cli.json("app", "show", api)["appRoles"] == []
    audit = cli.run("logs", "audit", "--since", "PT1H").stdout
    assert "appRoleAssignment.remove" in audit and "application.appRole.remove" in audit


def test_the_last_administrator_assignment_cannot_be_removed(start_server, tmp_path):
    server = start_server(name="last-admin")
    own = SigilCli(tmp_path / "profile.json", binary=server.binary)
    own.login(server)
    assignments = own.json("role", "show", "Administrator")["assignments"]
    assert len(assignments) == 1
    assert "last tenant-wide Administrator assignment" in fails(own, "role", "unassign", "--id", assignments[0]["id"])
    assert "last tenant-wide Administrator assignment" in fails(
        own, "role", "unassign", "Administrator", "--from", assignments[0]["principalDisplayName"])
    server.stop()


def test_app_show_marks_expired_credentials(cli, tmp_path):
    import datetime as dt
    import time
    from helpers import make_certificate

    name = f"cli-expiring-{uuid.uuid4().hex[:6]}"
    cli.run("app", "create", name)
    short = make_certificate(tmp_path, "short", lifetime=dt.timedelta(seconds=3))
    cli.run("app", "cert", "add", name, "--cert", str(short.cert_file))
    cli.run("app", "secret", "add", name)
    assert "(expired)" not in cli.run("app", "show", name).stdout
    time.sleep(4)
    shown = cli.run("app", "show", name).stdout
    rows = {line.split()[0]: line for line in shown.splitlines() if line.startswith(("AsymmetricX509Cert", "secret"))}
    assert "(expired)" in rows["AsymmetricX509Cert"] and "(expired)" not in rows["secret"], shown
    assert "1 credential has expired and no longer signs in" in shown


def test_disable_and_enable(cli, sigil):
    name = f"cli-toggle-{uuid.uuid4().hex[:6]}"
    cli.run("app", "create", name)
    assert "is disabled" in cli.run("app", "disable", name).stdout
    assert cli.json("app", "show", name)["accountEnabled"] is False
    assert "is enabled" in cli.run("app", "enable", name).stdout


def test_mistakes_get_one_clear_line(cli, tmp_path):
    assert "No application 'no-such-app'" in fails(cli, "app", "show", "no-such-app")
    taken = f"cli-dup-{uuid.uuid4().hex[:6]}"
    cli.run("app", "create", taken)
    assert "already exists" in fails(cli, "app", "create", taken)
    assert "at most two years" in fails(cli, "app", "secret", "add", taken, "--lifetime", "P10Y")
    assert "cannot read" in fails(cli, "app", "cert", "add", taken, "--cert", str(tmp_path / "missing.pem"))
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    assert "not a PEM-encoded X.509 certificate" in fails(cli, "app", "cert", "add", taken, "--cert", str(not_pem))
    from helpers import make_certificate
    weak = make_certificate(tmp_path / "weak", "weak", key_size=1024)
    assert "key too small: the certificate's RSA key has 1024 bits; at least 2048" in fails(
        cli, "app", "cert", "add", taken, "--cert", str(weak.cert_file))
    private = tmp_path / "private.jwk"
    private.write_text(json.dumps({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}))
    assert "private member 'd'" in fails(cli, "app", "key", "add", taken, "--jwk", str(private))
    assert "neither an ISO-8601 date-time nor a duration" in fails(cli, "logs", "signins", "--since", "yesterday")


def test_not_logged_in_and_bad_login(sigil, tmp_path):
    fresh = SigilCli(tmp_path / "profile.json", binary=sigil.binary)
    assert "not logged in" in fails(fresh, "app", "list")
    assert "https://" in fails(fresh, "login", "--server", "http://127.0.0.1:1", "--key", sigil.admin_key_file)
    # A key file for a client the server does not know: refused, and the profile is not saved.
    other = tmp_path / "other-key.json"
    other.write_text(json.dumps({"tenantId": sigil.tenant, "clientId": str(uuid.uuid4()), "kid": "x",
                                 "privateKey": json.load(open(sigil.admin_key_file))["privateKey"]}))
    assert "cannot sign in" in fails(fresh, "login", "--server", sigil.base_url, "--ca", sigil.ca_file, "--key", str(other))
    assert not (tmp_path / "profile.json").exists()


def test_serve_rejects_bad_flags(sigil_bin, tmp_path):
    cli = SigilCli(tmp_path / "profile.json", binary=sigil_bin)
    for args, says in [(("--listen", "nonsense"), "--listen must be HOST:PORT"),
                       (("--key-rotation", "soon"), "--key-rotation must be an ISO-8601 duration"),
                       (("--tls-cert", "x.pem"), "--tls-cert and --tls-key go together")]:
        result = cli.run("serve", "--data", str(tmp_path / "data"), *args, check=False)
        assert result.returncode != 0
        assert says in result.stderr, result.stderr


def test_a_second_server_on_the_same_sqlite_store_is_refused(sigil, tmp_path):
    if sigil.database:
        return  # PostgreSQL stores are meant to be shared by replicas
    cli = SigilCli(tmp_path / "profile.json", binary=sigil.binary)
    result = cli.run("serve", "--data", str(sigil.data_dir), "--listen", "127.0.0.1:0", check=False, timeout=30)
    assert result.returncode != 0
    assert "another sigil process is serving the SQLite store" in result.stderr, result.stderr


def test_login_by_another_host_name_and_the_token_is_reused(sigil, tmp_path):
    """`sigil login --server https://localhost:PORT` works: the token endpoint comes from
    discovery, not from the URL typed. Later commands reuse the cached admin token (the profile
    is 0600), so they add no sign-ins of their own."""
    cli = SigilCli(tmp_path / "profile.json", binary=sigil.binary)
    cli.run("login", "--server", f"https://localhost:{sigil.port}", "--ca", sigil.ca_file, "--key", sigil.admin_key_file)
    assert (tmp_path / "profile.json").stat().st_mode & 0o777 == 0o600
    admin = json.loads(open(sigil.admin_key_file).read())["clientId"]

    def admin_sign_ins() -> int:
        return len([e for e in cli.json("logs", "signins", "--app", admin, "--top", "1000")["value"]])

    before = admin_sign_ins()
    for _ in range(3):
        cli.run("app", "list")
    assert admin_sign_ins() == before, "each CLI command signed in again"


def test_logs_take_names_and_the_audit_shows_them(cli, sigil):
    name = f"cli-logs-{uuid.uuid4().hex[:6]}"
    cli.run("app", "create", name)
    secret = cli.json("app", "secret", "add", name)["secretText"]
    app = cli.json("app", "show", name)
    r = requests.post(sigil.token_endpoint, timeout=10, data={
        "grant_type": "client_credentials", "client_id": app["appId"], "client_secret": secret, "scope": "api://sigil-admin/.default"})
    assert r.status_code in (200, 400), r.text
    by_name = cli.json("logs", "signins", "--app", name)["value"]
    assert by_name and all(e["appId"] == app["appId"] for e in by_name)
    audit = cli.json("logs", "audit", "--app", name)["value"]
    assert {e["activityDisplayName"] for e in audit} >= {"application.create", "application.passwordCredential.add"}
    rows = cli.run("logs", "audit", "--app", name).stdout.splitlines()
    assert any(f"{name} ({app['objectId']})" in row for row in rows[1:]), rows[:3]
    assert "no application or managed identity 'no-such-app'" in fails(cli, "logs", "signins", "--app", "no-such-app")


def test_version_and_a_log_line_at_shutdown(start_server, sigil_bin):
    import subprocess
    version = subprocess.run([sigil_bin, "--version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.strip().count(".") == 2, version
    server = start_server(name="shutdown-line")
    assert server.stop() == 0
    assert "sigil serve stopped: requests in flight finished, the store is closed" in server.stderr_text()


def test_certificate_files_are_read_as_users_have_them(cli, tmp_path):
    """A DER certificate and a combined key-and-certificate PEM are accepted (the private key is
    never sent); a private key alone gets one line saying what to pass instead."""
    from helpers import make_certificate

    name = f"cli-certs-{uuid.uuid4().hex[:6]}"
    cli.run("app", "create", name)
    made = make_certificate(tmp_path, "c1")
    der = tmp_path / "c1.der"
    der.write_bytes(made.der)
    assert cli.json("app", "cert", "add", name, "--cert", str(der))["type"] == "AsymmetricX509Cert"
    other = make_certificate(tmp_path, "c2")
    assert cli.json("app", "cert", "add", name, "--cert", str(other.combined_file))["type"] == "AsymmetricX509Cert"

    key_only = tmp_path / "key.pem"
    key_only.write_text(made.key_pem)
    assert "is a private key; pass the certificate" in fails(cli, "app", "cert", "add", name, "--cert", str(key_only))

    assert len(cli.json("app", "show", name)["keyCredentials"]) == 2


def test_network_failures_say_what_to_do(sigil, tmp_path):
    """A server that is not there, and one whose certificate the CLI does not trust: one line each,
    no errno numbers or library type names, balanced parentheses."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    profile = tmp_path / "down.json"
    profile.write_text(json.dumps({"server": f"https://127.0.0.1:{closed_port}", "keyFile": sigil.admin_key_file, "caFile": sigil.ca_file}))
    down = fails(SigilCli(profile, binary=sigil.binary), "app", "list")
    assert down == f"error: cannot reach https://127.0.0.1:{closed_port}: connection refused", down

    untrusted = SigilCli(tmp_path / "untrusted.json", binary=sigil.binary)
    message = fails(untrusted, "login", "--server", sigil.base_url, "--key", sigil.admin_key_file)
    assert "pass --ca FILE" in message and "errno" not in message and "BoringSSL" not in message, message
    assert message.count("(") == message.count(")"), message


def test_serve_refuses_a_busy_port_and_a_mismatched_key_before_touching_the_data_folder(sigil_bin, tmp_path):
    import socket
    import subprocess
    from helpers import make_certificate

    def serve(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sigil_bin, "serve", "--data", str(tmp_path / "data"), *args], capture_output=True, text=True, timeout=60)

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused = serve("--listen", f"127.0.0.1:{port}")
    assert refused.returncode != 0 and f"127.0.0.1:{port} cannot be listened on" in refused.stderr, refused.stderr
    assert not (tmp_path / "data").exists()

    one, other = make_certificate(tmp_path / "tls", "one"), make_certificate(tmp_path / "tls", "other")
    wrong_key = tmp_path / "tls" / "other.key.pem"
    wrong_key.write_text(other.key_pem)
    mismatched = serve("--listen", "127.0.0.1:0", "--tls-cert", str(one.cert_file), "--tls-key", str(wrong_key))
    assert mismatched.returncode != 0 and "does not match --tls-cert" in mismatched.stderr, mismatched.stderr
    assert not (tmp_path / "data").exists()


def test_the_issuer_does_not_move_with_the_port(start_server, tmp_path):
    from test_agent import free_port

    first_port, second_port = free_port(), free_port()
    server = start_server(name="pinned", listen=f"127.0.0.1:{first_port}")
    issuer = server.issuer
    assert server.stop() == 0
    server.listen = f"127.0.0.1:{second_port}"
    with pytest.raises(ServerStartError) as refused:
        server.start()
    assert f"issuer URL is https://127.0.0.1:{first_port} (fixed at first start)" in str(refused.value)
    assert f"--issuer-url https://127.0.0.1:{second_port}" in str(refused.value)

    server.extra_args = ["--issuer-url", f"https://127.0.0.1:{second_port}"]
    server.start()
    assert server.issuer != issuer and f":{second_port}/" in server.issuer
    own = SigilCli(tmp_path / "profile.json", binary=server.binary)
    own.login(server)
    assert "server.issuerUrl.change" in own.run("logs", "audit").stdout
    server.stop()


def test_errors_name_no_api_fields(cli):
    message = fails(cli, "app", "grant", "no-such-client", "no-such-api", "Role")
    assert "No application or managed identity 'no-such-client'" in message and "(principalId)" not in message, message
    name = f"cli-grant-{uuid.uuid4().hex[:6]}"
    cli.run("app", "create", name)
    message = fails(cli, "app", "grant", name, "no-such-api", "Role")
    assert "No application 'no-such-api'" in message and "(resourceId)" not in message, message


def test_json_logs_are_one_object_a_line(start_server):
    server = start_server(name="json-logs", args=["--log-format", "json"])
    assert server.stop() == 0
    lines = [line for line in server.stderr_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "source", "message"} <= set(r) for r in records), lines[:3]
    messages = [r["message"] for r in records]
    assert any(m.startswith("applied schema migration") for m in messages)
    assert records[-1]["message"].startswith("sigil serve stopped"), records[-1]


def test_postgres_problems_are_named_and_the_password_never_shown(sigil_bin, tmp_path):
    from conftest import POSTGRES_URL

    cases = [("postgres://sigil:hunter2@127.0.0.1:1/sigil", "cannot reach PostgreSQL at 127.0.0.1:1: connection refused")]
    if POSTGRES_URL:
        base = urllib.parse.urlsplit(POSTGRES_URL)
        place = f"{base.hostname}:{base.port}"
        cases += [
            (f"postgres://nobody:hunter2@{place}/postgres", f"PostgreSQL at {place} refused user 'nobody'"),
            (f"postgres://{base.username}:hunter2@{place}/no_such_db", f"PostgreSQL at {place} has no database 'no_such_db'"),
        ]
    for url, says in cases:
        result = subprocess.run([sigil_bin, "serve", "--data", str(tmp_path / "data"), "--listen", "127.0.0.1:0", "--database", url],
                                capture_output=True, text=True, timeout=60)
        lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert result.returncode != 0 and len(lines) == 1 and says in lines[0], result.stderr
        assert "hunter2" not in result.stderr + result.stdout and "PSQLError" not in result.stderr


def test_app_key_create_writes_a_key_file_that_signs_in(cli, sigil, tmp_path):
    """Issue 10, item 8 in part: the key pair is made on the caller's machine, only the public key
    is registered, and the file (0600) signs in as that app with the roles it holds."""
    name = f"cli-ci-{uuid.uuid4().hex[:6]}"
    cli.run("app", "create", name)
    cli.run("role", "assign", "Administrator", "--to", name)
    key_file = tmp_path / "ci-key.json"
    shown = cli.run("app", "key", "create", name, "--out", str(key_file)).stdout
    assert "nowhere else" in shown and oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    key = json.loads(key_file.read_text())
    assert key["privateKey"] not in shown and "PRIVATE" not in shown
    registered = cli.json("app", "show", name)["keyCredentials"]
    assert [(k["kid"], k["type"]) for k in registered] == [(key["kid"], "Jwk")]
    assert key["privateKey"].splitlines()[1] not in json.dumps(cli.json("app", "show", name)), "only the public key is registered"
    own = SigilCli(tmp_path / "profile.json", binary=sigil.binary)
    assert f"as {key['clientId']}" in own.run("login", "--server", sigil.base_url, "--ca", sigil.ca_file, "--key", str(key_file)).stdout
    assert own.json("app", "show", name)["appId"] == key["clientId"]
    assert "exists already" in fails(cli, "app", "key", "create", name, "--out", str(key_file))

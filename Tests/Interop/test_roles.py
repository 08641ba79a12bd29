"""Issue 10, items 7–9: least-privilege admin roles, driven through the CLI as people and CI use
them. An identity made with `sigil app key create` signs in with `sigil login --key` and can do
what its role allows and nothing more."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

from conftest import SigilCli
from test_cli import fails


def identity(cli: SigilCli, sigil, tmp_path, name: str) -> SigilCli:
    """An application with a key made here, and a CLI profile signed in as it."""
    cli.run("app", "create", name)
    key_file = tmp_path / f"{name}.json"
    cli.run("app", "key", "create", name, "--out", str(key_file))
    return SigilCli(tmp_path / f"{name}.profile.json", binary=sigil.binary), key_file


def test_a_rotator_scoped_to_one_app_rotates_it_and_nothing_else(cli, sigil, tmp_path):
    suffix = uuid.uuid4().hex[:6]
    orders, billing, ci = f"orders-{suffix}", f"billing-{suffix}", f"orders-ci-{suffix}"
    cli.run("app", "create", orders)
    cli.run("app", "create", billing)
    own, key_file = identity(cli, sigil, tmp_path, ci)

    # No role yet: no admin token at all.
    refused = own.run("login", "--server", sigil.base_url, "--ca", sigil.ca_file, "--key", str(key_file), check=False)
    assert refused.returncode != 0 and "role" in refused.stderr, refused.stderr

    assigned = cli.json("role", "assign", "Credential Rotator", "--to", ci, "--app", orders)
    assert assigned["directoryScopeId"] == "/applications/" + cli.json("app", "show", orders)["objectId"]
    assert assigned["directoryScopeDisplayName"] == orders and assigned["principalDisplayName"] == ci
    own.login(sigil, key_file=str(key_file))

    # What the role allows, on its app: read it, add and remove its credentials.
    assert own.json("app", "show", orders)["displayName"] == orders
    new_key = tmp_path / "orders-next.json"
    own.run("app", "key", "create", orders, "--out", str(new_key))
    kid = json.loads(new_key.read_text())["kid"]
    registered = own.json("app", "show", orders)["keyCredentials"]
    assert [k["kid"] for k in registered] == [kid]
    own.run("app", "key", "remove", orders, registered[0]["keyId"])
    assert own.json("app", "show", orders)["keyCredentials"] == []

    # Nothing else: another app, deleting, listing the tenant, granting itself more.
    assert f"lacks the permission applications.read for application '{billing}'" in fails(own, "app", "show", billing)
    assert "lacks the permission applications.read for application 'no-such-app'" in fails(own, "app", "show", "no-such-app")
    assert "lacks the permission applications.delete" in fails(own, "app", "delete", orders)
    assert "lacks the permission applications.read for this tenant" in fails(own, "app", "list")
    assert "lacks the permission roles.write" in fails(own, "role", "assign", "Administrator", "--to", ci)
    assert "lacks the permission roles.read" in fails(own, "role", "list")
    assert "lacks the permission logs.read" in fails(own, "logs", "audit")

    # Every denial is in the audit log, under the rotator, with the permission it lacked.
    denied = [e for e in cli.json("logs", "audit", "--top", "200")["value"]
              if e["activityDisplayName"] == "admin.denied" and e["initiatedBy"]["displayName"] == ci]
    assert {e["after"]["permission"] for e in denied} >= {"applications.read", "applications.delete", "roles.write", "logs.read"}

    # Unassigned, it stops at once, even with the token it holds.
    cli.run("role", "unassign", "Credential Rotator", "--from", ci, "--app", orders)
    assert "holds no admin role" in fails(own, "app", "show", orders)


def test_custom_roles_and_bad_assignments_get_clear_errors(cli, sigil, tmp_path):
    suffix = uuid.uuid4().hex[:6]
    unknown = fails(cli, "role", "create", f"bad-{suffix}", "--permission", "applications.read", "applications.explode")
    assert "unknown permission 'applications.explode'" in unknown and "applications.credentials.update" in unknown
    assert "at least one permission" in fails(cli, "role", "create", f"empty-{suffix}")
    assert "built-in role" in fails(cli, "role", "create", "Security Reader", "--permission", "logs.read")
    assert not any(r["displayName"] in (f"bad-{suffix}", f"empty-{suffix}") for r in cli.json("role", "list")["value"])

    role = f"Auditor {suffix}"
    created = cli.json("role", "create", role, "--permission", "logs.read", "tenant.read", "--description", "reads the logs")
    assert created["isBuiltIn"] is False
    assert created["rolePermissions"][0]["allowedResourceActions"] == ["logs.read", "tenant.read"]
    assert "exists already" in fails(cli, "role", "create", role.upper(), "--permission", "logs.read")

    # An assignment to a principal that is gone, to an unknown role, to a vault that does not exist.
    gone = f"gone-{suffix}"
    cli.run("app", "create", gone)
    cli.run("app", "delete", gone)
    assert "No application, managed identity or host identity" in fails(cli, "role", "assign", role, "--to", gone)
    assert "No role 'Nobody'" in fails(cli, "role", "assign", "Nobody", "--to", "sigil-bootstrap-admin")
    assert "No vault 'no-such-vault'" in fails(cli, "role", "assign", "Vault Secrets User", "--to", "sigil-bootstrap-admin", "--vault", "no-such-vault")

    # A managed identity may hold a role too; assigning twice is a conflict.
    mi = f"mi-{suffix}"
    cli.run("mi", "create", mi)
    cli.run("role", "assign", role, "--to", mi)
    assert "holds that role at that scope already" in fails(cli, "role", "assign", role, "--to", mi)
    shown = cli.json("role", "show", role)
    assert [a["principalDisplayName"] for a in shown["assignments"]] == [mi]
    table = cli.run("role", "list").stdout
    assert role in table and "Credential Rotator" in table


def test_ci_scans_as_a_security_operator_and_a_bypass_names_the_developer(cli, sigil, tmp_path):
    """Item 8: CI reports leaks with a Security Operator identity; a developer's bypass is recorded
    under their own principal with their git author beside it."""
    suffix = uuid.uuid4().hex[:6]
    victim = f"leaky-{suffix}"
    cli.run("app", "create", victim)
    leaked = cli.json("app", "secret", "add", victim)["secretText"]

    scanner, scanner_key = identity(cli, sigil, tmp_path, f"scanner-ci-{suffix}")
    cli.run("role", "assign", "Security Operator", "--to", f"scanner-ci-{suffix}")
    scanner.login(sigil, key_file=str(scanner_key))
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "settings.py").write_text(f'CLIENT_SECRET = "{leaked}"\n')
    scan = scanner.run("scan", str(tmp_path / "work"), "--report", check=False)
    assert scan.returncode == 1 and f"1 revoked now ({victim})" in scan.stderr, scan.stderr
    assert "lacks the permission applications.create" in fails(scanner, "app", "create", f"nope-{suffix}")

    developer, developer_key = identity(cli, sigil, tmp_path, f"dev-{suffix}")
    cli.run("role", "assign", "Security Operator", "--to", f"dev-{suffix}")
    developer.login(sigil, key_file=str(developer_key))
    repo = tmp_path / "repo"
    env = dict(os.environ, SIGIL_PROFILE=str(developer.profile), GIT_AUTHOR_NAME="Dana Dev", GIT_AUTHOR_EMAIL="dana@example.com",
               GIT_COMMITTER_NAME="Dana Dev", GIT_COMMITTER_EMAIL="dana@example.com", GIT_CONFIG_GLOBAL="/dev/null")
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(repo)], check=True, env=env)
    developer.run("scan", "hook", "install", "--repository", str(repo))
    (repo / "fixture.env").write_text(f"SECRET={leaked}\n")
    subprocess.run(["git", "add", "fixture.env"], cwd=repo, check=True, env=env)
    env["SIGIL_SCAN_BYPASS"] = f"revoked fixture {suffix}"
    passed = subprocess.run(["git", "commit", "-qm", "fixture"], cwd=repo, env=env, capture_output=True, text=True)
    assert passed.returncode == 0 and "recorded in Sigil's audit log" in passed.stderr, passed.stderr
    events = [e for e in cli.json("logs", "audit", "--top", "200")["value"]
              if e["activityDisplayName"] == "secretScan.bypass" and e["after"]["reason"] == f"revoked fixture {suffix}"]
    assert len(events) == 1
    assert events[0]["initiatedBy"]["displayName"] == f"dev-{suffix}"
    assert events[0]["after"]["author"] == "Dana Dev <dana@example.com>"

"""Incident response with the clients people already use: a principal holding a client secret
(msal), a certificate (azure-identity) and a federated credential (azure-identity's
ClientAssertionCredential, tokens from a real OIDC issuer) gets tokens and reads the vault
(azure-keyvault-secrets); `sigil incident contain` refuses its tokens at the vault and at
introspection (RFC 7662, with requests) and every new token request; `sigil incident release`
makes it work again. Bad input first. Runs on SQLite, and on PostgreSQL when
SIGIL_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt
import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import CertificateCredential, ClientAssertionCredential
from azure.keyvault.secrets import SecretClient

from conftest import SigilCli, SigilServer
from helpers import make_certificate
from oidc_issuer import TestIssuer, TLSMaterial

SUBJECT = "repo:contoso/billing:ref:refs/heads/main"


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4)}"


@dataclass
class Incident:
    name: str
    app: dict
    secret: str
    cert: object
    issuer: TestIssuer
    api: dict
    api_secret: str
    vault: dict

    def msal(self, sigil: SigilServer) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(self.app["appId"], client_credential=self.secret, authority=sigil.authority,
                                                  instance_discovery=False)

    def certificate(self, sigil: SigilServer) -> CertificateCredential:
        return CertificateCredential(sigil.tenant, self.app["appId"], certificate_path=str(self.cert.combined_file),
                                     authority=sigil.base_url, disable_instance_discovery=True)

    def federated(self, sigil: SigilServer) -> ClientAssertionCredential:
        return ClientAssertionCredential(sigil.tenant, self.app["appId"], lambda: self.issuer.mint(SUBJECT),
                                         authority=sigil.base_url, disable_instance_discovery=True)

    def introspect(self, sigil: SigilServer, token: str) -> dict:
        r = requests.post(f"{sigil.authority}/oauth2/v2.0/introspect", timeout=30,
                          data={"client_id": self.api["appId"], "client_secret": self.api_secret, "token": token})
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def incident(sigil, cli, tmp_path_factory) -> Incident:
    tls = TLSMaterial.create(tmp_path_factory.mktemp("incident-issuer-tls"))
    issuer = TestIssuer(tmp_path_factory.mktemp("incident-issuer"), tls=tls).start()
    cli.run("issuer", "trust", issuer.url, "--ca", str(tls.ca_file))
    api_name = unique("inc-api-")
    api = cli.json("app", "create", api_name, "--identifier-uri", f"api://{api_name}")
    api_secret = cli.json("app", "secret", "add", api_name)["secretText"]
    name = unique("inc-billing-")
    app = cli.json("app", "create", name)
    secret = cli.json("app", "secret", "add", name)["secretText"]
    cert = make_certificate(tmp_path_factory.mktemp("incident-keys"), name)
    cli.json("app", "cert", "add", name, "--cert", str(cert.cert_file))
    cli.json("app", "federated", "add", name, "--name", "ci-deploy", "--issuer", issuer.url, "--subject", SUBJECT)
    vault = cli.json("vault", "create", unique("inc"), "--retention-days", "7")
    cli.run("role", "assign", "Vault Secrets User", "--to", name, "--vault", vault["name"])
    value_file = tmp_path_factory.mktemp("incident-value") / "value"
    value_file.write_text("s3cret-db-password")
    cli.json("vault", "secret", "set", f"{vault['name']}/db", "--file", str(value_file))
    yield Incident(name, app, secret, cert, issuer, api, api_secret, vault)
    issuer.stop()


def fails(cli: SigilCli, *args: str) -> str:
    result = cli.run(*args, check=False)
    assert result.returncode == 1, (args, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_bad_input_is_refused_and_changes_nothing(sigil, cli, incident):
    before = cli.json("incident", "list")["value"]
    assert "no service principal 'nobody-here'" in fails(cli, "incident", "contain", "nobody-here").lower()
    assert "is not contained" in fails(cli, "incident", "release", incident.name)
    assert "never been contained" in fails(cli, "incident", "show", incident.name)
    assert "lock administrators out" in fails(cli, "incident", "contain", "api://sigil-admin")
    assert cli.json("incident", "list")["value"] == before
    assert cli.json("app", "show", incident.name)["accountEnabled"] is True


def test_contain_refuses_every_token_and_credential_and_release_restores_them(sigil, cli, incident):
    api_scope = f"{incident.api['identifierUris'][0]}/.default"
    vault_scope = f"https://vault.localhost:{sigil.port}/.default"
    # Before: each credential gets a token, the vault answers, introspection says active.
    by_secret = incident.msal(sigil).acquire_token_for_client(scopes=[api_scope])
    assert "access_token" in by_secret, by_secret
    # msal reuses a signed assertion for a while, and Sigil takes each only once: a credential per use.
    assert incident.certificate(sigil).get_token(api_scope).token
    assert incident.federated(sigil).get_token(api_scope).token
    vault_client = SecretClient(incident.vault["vaultUri"], incident.certificate(sigil))
    assert vault_client.get_secret("db").value == "s3cret-db-password"
    old_vault_token = incident.certificate(sigil).get_token(vault_scope).token
    active = incident.introspect(sigil, by_secret["access_token"])
    assert active["active"] is True and active["client_id"] == incident.app["appId"] and active["aud"] == incident.api["appId"]

    contained = cli.json("incident", "contain", incident.name)
    assert contained["state"] == "contained"
    assert sorted(c["type"] for c in contained["disabledCredentials"]) == ["federatedIdentityCredential", "keyCredential", "passwordCredential"]
    assert {"vault": incident.vault["name"], "name": "db", "rotation": "manual"} in contained["vaultSecrets"]
    assert any(entry["kind"] == "signIn" for entry in contained["timeline"]["entries"])

    # Tokens issued before: refused by the vault (through the SDK and on the wire) and by introspection.
    with pytest.raises((HttpResponseError, ClientAuthenticationError)):
        vault_client.get_secret("db")
    wire = requests.get(f"{incident.vault['vaultUri']}/secrets/db?api-version=7.5", headers={"Authorization": f"Bearer {old_vault_token}"}, timeout=30)
    assert wire.status_code == 401, wire.text
    assert incident.introspect(sigil, by_secret["access_token"]) == {"active": False}
    # New token requests, with every credential it has.
    refused = incident.msal(sigil).acquire_token_for_client(scopes=[api_scope])
    assert "access_token" not in refused and refused.get("error") == "unauthorized_client", refused
    with pytest.raises(ClientAuthenticationError):
        incident.certificate(sigil).get_token(api_scope)
    with pytest.raises(ClientAuthenticationError):
        incident.federated(sigil).get_token(api_scope)
    # The revocation list names it.
    discovery = requests.get(sigil.discovery_url, timeout=30).json()
    listed = requests.get(discovery["revocation_list_uri"], timeout=30).json()["revoked"]
    sub = jwt.decode(by_secret["access_token"], options={"verify_signature": False})["sub"]
    assert any(entry["sub"] == sub for entry in listed), listed

    shown = cli.run("incident", "show", incident.name).stdout
    assert "contained" in shown and incident.vault["name"] in shown and "signIn" in shown, shown
    assert "already contained" in fails(cli, "incident", "contain", incident.name)

    released = cli.json("incident", "release", incident.name)
    assert released["state"] == "released"
    assert cli.json("app", "show", incident.name)["accountEnabled"] is True
    # The old tokens stay refused; new ones, from every credential, work again.
    assert incident.introspect(sigil, by_secret["access_token"]) == {"active": False}
    time.sleep(1.1)   # tokens carry whole seconds: those of the next second are new
    again = incident.msal(sigil).acquire_token_for_client(scopes=[api_scope])
    assert "access_token" in again, again
    assert incident.introspect(sigil, again["access_token"])["active"] is True
    assert incident.federated(sigil).get_token(api_scope).token
    assert SecretClient(incident.vault["vaultUri"], incident.certificate(sigil)).get_secret("db").value == "s3cret-db-password"
    listed = cli.json("incident", "list")["value"]
    assert [i["state"] for i in listed if i["appId"] == incident.app["appId"]] == ["released"]

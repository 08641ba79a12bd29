"""Helpers shared by the secretless tests (workload identity federation, managed identities):
token requests made by hand, the Entra refusal shape, unmodified SDK clients run in child
processes with an environment of their own, and the sign-in log."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import CLIENT_ASSERTION_TYPE, SigilCli, SigilServer

# Variables that make azure-identity or msal pick a credential or an endpoint: a child process
# starts without any of them, then gets exactly the ones its test means.
IDENTITY_VARIABLES = ("AZURE_", "IDENTITY_", "MSI_", "IMDS_")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def values(listing) -> list:
    """A CLI/admin listing, whether it is {"value": [...]} or a bare list."""
    return listing["value"] if isinstance(listing, dict) else listing


# --------------------------------------------------------------------------------------------
# The token endpoint, by hand


def exchange(sigil: SigilServer, client_id: str, assertion: str, scope: str, timeout: float = 60) -> requests.Response:
    """client_credentials with a client assertion (an external token under a FIC, or the token of
    a managed identity), as azure-identity's ClientAssertionCredential sends it."""
    return requests.post(sigil.token_endpoint, verify=sigil.ca_file, timeout=timeout, data={
        "grant_type": "client_credentials", "client_id": client_id, "scope": scope,
        "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion})


def issued(response: requests.Response) -> str:
    assert response.status_code == 200, f"{response.status_code} {response.text}"
    body = response.json()
    assert body.get("token_type", "").lower() == "bearer", body
    return body["access_token"]


def assert_refused(response: requests.Response, code: int | None = None) -> dict:
    """An Entra-shaped refusal: 4xx (never 5xx), no token, `code` among error_codes, and an
    error_description that says something."""
    assert 400 <= response.status_code < 500, f"expected a refusal, got {response.status_code} {response.text[:500]}"
    body = response.json()
    assert "access_token" not in body, body
    assert body.get("error") and body.get("error_description"), body
    if code is not None:
        assert code in body.get("error_codes", []), f"expected AADSTS{code}: {body}"
    return body


# --------------------------------------------------------------------------------------------
# Unmodified clients in child processes (azure-identity reads its environment at construction)


def child_env(**variables: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(IDENTITY_VARIABLES)}
    env.pop("REQUESTS_CA_BUNDLE", None)
    env.update(variables)
    return env


def run_client(code: str, env: dict, timeout: float = 120) -> dict:
    """Runs `code` (which must set `result`, a JSON-able dict) in a fresh interpreter of this venv
    with exactly `env`; returns `result`, or {"error": type, "message": text} if it raised."""
    script = "import json, sys, traceback\ntry:\n" + textwrap.indent(textwrap.dedent(code), "    ") + \
        "\nexcept Exception as e:\n    result = {'error': type(e).__name__, 'message': str(e)}\n" \
        "print('RESULT ' + json.dumps(result))\n"
    completed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=timeout,
                               cwd=os.path.dirname(__file__))
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the client printed no result (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def client_token(result: dict) -> str:
    assert "token" in result, f"the client got no token: {result}"
    return result["token"]


# --------------------------------------------------------------------------------------------
# The sign-in log


def sign_ins(cli: SigilCli, app_id: str) -> list[dict]:
    return values(cli.json("logs", "signins", "--app", app_id))


def fic_list(cli: SigilCli, kind: str, owner: str) -> list[dict]:
    """`sigil app federated list APP` or `sigil mi federated list MI`, as JSON."""
    return values(cli.json(kind, "federated", "list", owner))


def principal(obj: dict) -> dict:
    """What helpers.validate expects of a client: appId and the object id that tokens carry as oid."""
    return {"appId": obj["appId"], "servicePrincipalId": obj.get("servicePrincipalId") or obj.get("objectId")}


# --------------------------------------------------------------------------------------------
# The agent's protocol with the server, spoken directly


class ProtocolHost:
    """A host that enrolls and asks for managed identity tokens the way the contract says the
    agent does (POST /agent/v1/enroll, then ES256 client assertions signed with the host key), so
    the server side can be tested without the agent binary."""

    def __init__(self, sigil: SigilServer):
        self.sigil = sigil
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.kid = unique("host-key")
        self.enrollment: dict | None = None

    def public_jwk(self) -> dict:
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return dict(jwk, kid=self.kid)

    def enroll(self, join_token: str) -> requests.Response:
        r = requests.post(f"{self.sigil.base_url}/agent/v1/enroll", verify=self.sigil.ca_file, timeout=30,
                          json={"joinToken": join_token, "publicKey": self.public_jwk(), "hostname": socket.gethostname()})
        if r.status_code == 201:
            self.enrollment = r.json()
        return r

    def _sign(self, claims: dict) -> str:
        assert self.enrollment, "not enrolled"
        now = int(time.time())
        claims = {"iat": now, "nbf": now, "exp": now + 300, "jti": str(uuid.uuid4()), **claims}
        return jwt.encode(claims, self.private_key, algorithm="ES256", headers={"kid": self.enrollment.get("kid") or self.kid})

    def assertion(self, identity_app_id: str, caller: dict | None = None) -> str:
        """The client assertion for one identity; `caller` is the xms_caller of a socket caller."""
        claims = {"iss": identity_app_id, "sub": identity_app_id, "aud": self.enrollment["tokenEndpoint"]}
        if caller is not None:
            claims["xms_caller"] = caller
        return self._sign(claims)

    def token(self, identity_app_id: str, scope: str, caller: dict | None = None) -> requests.Response:
        assert self.enrollment, "not enrolled"
        return requests.post(self.enrollment["tokenEndpoint"], verify=self.sigil.ca_file, timeout=30, data={
            "grant_type": "client_credentials", "client_id": identity_app_id, "scope": scope,
            "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": self.assertion(identity_app_id, caller)})

    def config(self) -> requests.Response:
        """GET /agent/v1/config, authenticated with a SigilHost JWT."""
        system = self.enrollment["systemAssignedIdentity"]["appId"]
        host_jwt = self._sign({"iss": system, "sub": system, "aud": f"{self.sigil.base_url}/agent/v1"})
        return requests.get(f"{self.sigil.base_url}/agent/v1/config", verify=self.sigil.ca_file, timeout=30,
                            headers={"Authorization": f"SigilHost {host_jwt}"})

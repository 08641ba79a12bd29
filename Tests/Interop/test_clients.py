"""Interop: clients nobody here wrote (azure-identity, msal, Authlib, PyJWT), used as their
documentation says, against a real `sigil serve`. Every token is validated the way a resource
server would: discovery -> jwks_uri -> signature, iss, aud, exp."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

import jwt
import msal
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientSecretCredential
from joserfc.jwk import ECKey, RSAKey

from conftest import b64url, rotate_keys
from helpers import Certificate, make_certificate, sigil_secret_checksum, token_kid, validate, well_formed_wrong_secret

ORDERS = "api://orders"
LEDGER = "api://ledger"  # a resource whose tokens are RS256
ORDERS_ROLE = "Orders.Read"


# --------------------------------------------------------------------------------------------
# The directory the tests use, made through the admin CLI


@dataclass
class World:
    orders: dict
    ledger: dict
    secret_client: dict
    secret: str
    cert_client: dict
    cert: Certificate
    jwk_rsa_client: dict
    jwk_rsa: RSAKey
    jwk_ec_client: dict
    jwk_ec: ECKey


@pytest.fixture(scope="module")
def world(cli, tmp_path_factory) -> World:
    keys_dir = tmp_path_factory.mktemp("keys")
    orders = cli.json("app", "create", "orders", "--identifier-uri", ORDERS)
    ledger = cli.json("app", "create", "ledger", "--identifier-uri", LEDGER, "--token-alg", "RS256")
    assert ledger["accessTokenSigningAlgorithm"] == "RS256", ledger
    cli.json("app", "role", "add", "orders", ORDERS_ROLE)

    secret_client = cli.json("app", "create", "interop-secret")
    added = cli.json("app", "secret", "add", "interop-secret", "--lifetime", "P30D")
    assert added["secretText"].startswith("sgs_") and len(added["secretText"]) == 50, added
    assert sigil_secret_checksum(added["secretText"][4:44]) == added["secretText"][44:], "checksum rule of DESIGN §7"
    cli.json("app", "grant", "interop-secret", "orders", ORDERS_ROLE)

    cert_client = cli.json("app", "create", "interop-cert")
    cert = make_certificate(keys_dir, "interop-cert")
    registered = cli.json("app", "cert", "add", "interop-cert", "--cert", str(cert.cert_file))
    assert registered.get("x5t") == cert.x5t, registered
    assert registered.get("x5t#S256") == cert.x5t_s256, registered

    jwk_rsa_client = cli.json("app", "create", "interop-jwk-rsa")
    jwk_rsa = RSAKey.generate_key(2048, parameters={"kid": "authlib-rsa-" + uuid.uuid4().hex[:8]})
    jwk_rsa_file = keys_dir / "rsa.jwk.json"
    jwk_rsa_file.write_text(json.dumps(jwk_rsa.as_dict(private=False)))
    registered = cli.json("app", "key", "add", "interop-jwk-rsa", "--jwk", str(jwk_rsa_file))
    assert registered.get("kid") == jwk_rsa.kid, registered

    jwk_ec_client = cli.json("app", "create", "interop-jwk-ec")
    jwk_ec = ECKey.generate_key("P-256", parameters={"kid": "authlib-ec-" + uuid.uuid4().hex[:8]})
    jwk_ec_file = keys_dir / "ec.jwk.json"
    jwk_ec_file.write_text(json.dumps(jwk_ec.as_dict(private=False)))
    registered = cli.json("app", "key", "add", "interop-jwk-ec", "--jwk", str(jwk_ec_file))
    assert registered.get("kid") == jwk_ec.kid, registered

    return World(orders, ledger, secret_client, added["secretText"], cert_client, cert,
                 jwk_rsa_client, jwk_rsa, jwk_ec_client, jwk_ec)


# --------------------------------------------------------------------------------------------
# Discovery


def test_discovery_points_at_this_server(sigil):
    doc = requests.get(sigil.discovery_url, timeout=10).json()  # CA from REQUESTS_CA_BUNDLE
    assert doc["issuer"] == sigil.issuer
    assert doc["token_endpoint"] == sigil.token_endpoint
    assert doc["jwks_uri"] == sigil.jwks_url
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(doc["token_endpoint_auth_methods_supported"])
    keys = sigil.jwks()["keys"]
    assert keys and all(k.get("use") == "sig" and k.get("kid") and k.get("alg") in ("ES256", "RS256") for k in keys), keys
    assert all("d" not in k and "p" not in k for k in keys), "JWKS must carry public keys only"


def test_cli_refers_to_an_app_by_name_uri_app_id_and_object_id(cli, world):
    """`sigil app show` documents "Name, appId, objectId or identifier URI"; the CLI percent-encodes
    the reference into the admin API path, so names with spaces and api:// URIs depend on the server
    decoding it."""
    spaced = cli.json("app", "create", "Orders Reporting", "--identifier-uri", "api://orders-reporting")
    failures = []
    for app, references in ((world.orders, [ORDERS, "orders", world.orders["appId"], world.orders["objectId"]]),
                            (spaced, ["Orders Reporting", "api://orders-reporting", spaced["appId"]])):
        for reference in references:
            shown = cli.run("app", "show", reference, "--json", check=False)
            if shown.returncode != 0 or json.loads(shown.stdout)["objectId"] != app["objectId"]:
                failures.append(f"sigil app show {reference!r}: exit {shown.returncode}: {(shown.stderr or shown.stdout).strip()[:200]}")
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------------------------
# azure-identity


def test_azure_identity_client_secret(sigil, world):
    credential = ClientSecretCredential(sigil.tenant, world.secret_client["appId"], world.secret,
                                        authority=sigil.base_url, disable_instance_discovery=True)
    token = credential.get_token(f"{ORDERS}/.default")
    assert token.expires_on > dt.datetime.now().timestamp() + 60
    validate(sigil, token.token, audience=world.orders["appId"], alg="ES256", client=world.secret_client, roles=[ORDERS_ROLE])


def test_azure_identity_certificate(sigil, world):
    credential = CertificateCredential(sigil.tenant, world.cert_client["appId"], certificate_path=str(world.cert.combined_file),
                                       authority=sigil.base_url, disable_instance_discovery=True)
    token = credential.get_token(f"{ORDERS}/.default")
    validate(sigil, token.token, audience=world.orders["appId"], alg="ES256", client=world.cert_client, roles=[])


def test_azure_identity_certificate_with_chain(sigil, world):
    credential = CertificateCredential(sigil.tenant, world.cert_client["appId"], certificate_data=world.cert.combined_file.read_bytes(),
                                       send_certificate_chain=True, authority=sigil.base_url, disable_instance_discovery=True)
    token = credential.get_token(f"{LEDGER}/.default")
    validate(sigil, token.token, audience=world.ledger["appId"], alg="RS256", client=world.cert_client)


def test_azure_identity_wrong_secret_is_AADSTS7000215(sigil, world):
    for wrong in (well_formed_wrong_secret(), "not-a-sigil-secret"):
        credential = ClientSecretCredential(sigil.tenant, world.secret_client["appId"], wrong,
                                            authority=sigil.base_url, disable_instance_discovery=True)
        with pytest.raises(ClientAuthenticationError) as failure:
            credential.get_token(f"{ORDERS}/.default")
        assert "AADSTS7000215" in str(failure.value), str(failure.value)
        assert wrong not in str(failure.value), "the error must not echo the secret"


def test_azure_identity_unknown_resource_is_AADSTS500011(sigil, world):
    credential = ClientSecretCredential(sigil.tenant, world.secret_client["appId"], world.secret,
                                        authority=sigil.base_url, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as failure:
        credential.get_token("api://no-such-resource/.default")
    assert "AADSTS500011" in str(failure.value), str(failure.value)


# --------------------------------------------------------------------------------------------
# msal


def msal_app(sigil, client_id, client_credential) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(client_id, client_credential=client_credential,
                                              authority=sigil.authority, instance_discovery=False)


def acquire(app: msal.ConfidentialClientApplication, scope: str) -> str:
    result = app.acquire_token_for_client(scopes=[scope])
    assert "access_token" in result, result
    assert result.get("token_type", "").lower() == "bearer", result
    assert int(result["expires_in"]) > 60, result
    return result["access_token"]


def test_msal_client_secret(sigil, world):
    token = acquire(msal_app(sigil, world.secret_client["appId"], world.secret), f"{ORDERS}/.default")
    validate(sigil, token, audience=world.orders["appId"], alg="ES256", client=world.secret_client, roles=[ORDERS_ROLE])


def test_msal_resource_by_app_id(sigil, world):
    token = acquire(msal_app(sigil, world.secret_client["appId"], world.secret), f"{world.orders['appId']}/.default")
    validate(sigil, token, audience=world.orders["appId"], alg="ES256", client=world.secret_client, roles=[ORDERS_ROLE])


def test_msal_certificate_sha1_thumbprint(sigil, world):
    # RS256, x5t (SHA-1) header: the classic Entra certificate credential.
    app = msal_app(sigil, world.cert_client["appId"], {"private_key": world.cert.key_pem, "thumbprint": world.cert.sha1_hex})
    token = acquire(app, f"{ORDERS}/.default")
    validate(sigil, token, audience=world.orders["appId"], alg="ES256", client=world.cert_client)


def test_msal_certificate_thumbprint_with_x5c(sigil, world):
    # RS256, x5t plus x5c (subject name / issuer auth).
    app = msal_app(sigil, world.cert_client["appId"], {"private_key": world.cert.key_pem, "thumbprint": world.cert.sha1_hex,
                                                       "public_certificate": world.cert.cert_pem})
    token = acquire(app, f"{LEDGER}/.default")
    validate(sigil, token, audience=world.ledger["appId"], alg="RS256", client=world.cert_client)


def test_msal_certificate_public_certificate_only(sigil, world):
    # msal >= 1.35 computes the SHA-256 thumbprint itself: PS256 with x5t#S256 and x5c.
    app = msal_app(sigil, world.cert_client["appId"], {"private_key": world.cert.key_pem, "public_certificate": world.cert.cert_pem})
    token = acquire(app, f"{ORDERS}/.default")
    validate(sigil, token, audience=world.orders["appId"], alg="ES256", client=world.cert_client)


def test_msal_certificate_pfx(sigil, world):
    # PS256 with x5t#S256.
    app = msal_app(sigil, world.cert_client["appId"], {"private_key_pfx_path": str(world.cert.pfx_file)})
    token = acquire(app, f"{LEDGER}/.default")
    validate(sigil, token, audience=world.ledger["appId"], alg="RS256", client=world.cert_client)


def test_msal_wrong_certificate_is_refused(sigil, world, tmp_path):
    # A certificate nobody registered, claiming to be the client: the server must not issue.
    stranger = make_certificate(tmp_path, "stranger")
    app = msal_app(sigil, world.cert_client["appId"], {"private_key": stranger.key_pem, "thumbprint": stranger.sha1_hex})
    result = app.acquire_token_for_client(scopes=[f"{ORDERS}/.default"])
    assert "access_token" not in result, result
    assert result.get("error") == "invalid_client" and 700027 in result.get("error_codes", []), result



def post_assertion(sigil, client_id: str, assertion: str, scope: str) -> requests.Response:
    """A private_key_jwt token request made by hand, as a client library would make it."""
    return requests.post(sigil.token_endpoint, timeout=10, data={
        "grant_type": "client_credentials", "client_id": client_id, "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion})


@pytest.mark.parametrize("header_name", ["x5t", "x5t#S256"])
@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "padded"])
def test_certificate_thumbprint_header_with_and_without_base64_padding(sigil, world, header_name, padded):
    """msal (and so azure-identity) writes x5t / x5t#S256 with urlsafe_b64encode, which keeps the
    '=' padding ('...0ww='); Entra accepts that. Signed here with PyJWT, everything else equal."""
    digest = hashlib.sha1(world.cert.der).digest() if header_name == "x5t" else hashlib.sha256(world.cert.der).digest()
    thumbprint = base64.urlsafe_b64encode(digest).decode()
    if not padded:
        thumbprint = thumbprint.rstrip("=")
    now = int(dt.datetime.now().timestamp())
    client_id = world.cert_client["appId"]
    assertion = jwt.encode({"iss": client_id, "sub": client_id, "aud": sigil.token_endpoint, "iat": now, "nbf": now,
                            "exp": now + 600, "jti": str(uuid.uuid4())},
                           world.cert.key_pem, algorithm="RS256", headers={header_name: thumbprint})
    r = post_assertion(sigil, client_id, assertion, f"{ORDERS}/.default")
    assert r.status_code == 200, f"{header_name}={thumbprint!r}: {r.status_code} {r.text}"
    validate(sigil, r.json()["access_token"], audience=world.orders["appId"], alg="ES256", client=world.cert_client)


def test_assertion_with_fractional_numeric_dates(sigil, world):
    """msal writes 'exp' and 'iat' as time.time() + 600, a float (RFC 7519 §2 NumericDate allows
    non-integer values; Entra accepts them). Unpadded x5t, so only the times differ."""
    now = dt.datetime.now().timestamp()  # e.g. 1795000000.123456
    client_id = world.cert_client["appId"]
    assertion = jwt.encode({"iss": client_id, "sub": client_id, "aud": sigil.token_endpoint, "iat": now,
                            "exp": now + 600, "jti": str(uuid.uuid4())},
                           world.cert.key_pem, algorithm="RS256", headers={"x5t": world.cert.x5t})
    r = post_assertion(sigil, client_id, assertion, f"{ORDERS}/.default")
    assert r.status_code == 200, f"exp={now + 600}: {r.status_code} {r.text}"
    validate(sigil, r.json()["access_token"], audience=world.orders["appId"], alg="ES256", client=world.cert_client)


def test_ps256_assertion_with_unpadded_x5t_s256(sigil, world):
    """What msal sends for a certificate without a SHA-1 thumbprint (PS256, x5t#S256, x5c), minus
    the base64 padding: isolates PS256 and x5c handling from the padding question above."""
    now = int(dt.datetime.now().timestamp())
    client_id = world.cert_client["appId"]
    assertion = jwt.encode({"iss": client_id, "sub": client_id, "aud": sigil.token_endpoint, "iat": now, "nbf": now,
                            "exp": now + 600, "jti": str(uuid.uuid4())}, world.cert.key_pem, algorithm="PS256",
                           headers={"x5t#S256": world.cert.x5t_s256, "x5c": [base64.b64encode(world.cert.der).decode()]})
    r = post_assertion(sigil, client_id, assertion, f"{LEDGER}/.default")
    assert r.status_code == 200, f"{r.status_code} {r.text}"
    validate(sigil, r.json()["access_token"], audience=world.ledger["appId"], alg="RS256", client=world.cert_client)


# --------------------------------------------------------------------------------------------
# Authlib


def authlib_session(client_id, secret_or_key, method) -> OAuth2Session:
    return OAuth2Session(client_id, secret_or_key, token_endpoint_auth_method=method)


def test_authlib_client_secret_basic(sigil, world):
    session = authlib_session(world.secret_client["appId"], world.secret, "client_secret_basic")
    token = session.fetch_token(sigil.token_endpoint, grant_type="client_credentials", scope=f"{ORDERS}/.default")
    validate(sigil, token["access_token"], audience=world.orders["appId"], alg="ES256", client=world.secret_client, roles=[ORDERS_ROLE])


def test_authlib_client_secret_post(sigil, world):
    session = authlib_session(world.secret_client["appId"], world.secret, "client_secret_post")
    token = session.fetch_token(sigil.token_endpoint, grant_type="client_credentials", scope=f"{LEDGER}/.default")
    validate(sigil, token["access_token"], audience=world.ledger["appId"], alg="RS256", client=world.secret_client, roles=[])


def test_authlib_private_key_jwt_certificate(sigil, world):
    # Authlib puts only `alg` in the header by default; its `headers` option carries the
    # certificate's x5t so the server can find the registered certificate.
    session = authlib_session(world.cert_client["appId"], world.cert.key_pem, "private_key_jwt")
    session.register_client_auth_method(PrivateKeyJWT(sigil.token_endpoint, headers={"x5t": world.cert.x5t}))
    token = session.fetch_token(sigil.token_endpoint, grant_type="client_credentials", scope=f"{ORDERS}/.default")
    validate(sigil, token["access_token"], audience=world.orders["appId"], alg="ES256", client=world.cert_client)


def test_authlib_private_key_jwt_rsa_jwk(sigil, world):
    session = authlib_session(world.jwk_rsa_client["appId"], world.jwk_rsa, "private_key_jwt")
    session.register_client_auth_method(PrivateKeyJWT(sigil.token_endpoint, headers={"kid": world.jwk_rsa.kid}))
    token = session.fetch_token(sigil.token_endpoint, grant_type="client_credentials", scope=f"{LEDGER}/.default")
    validate(sigil, token["access_token"], audience=world.ledger["appId"], alg="RS256", client=world.jwk_rsa_client)


def test_authlib_private_key_jwt_ec_jwk(sigil, world):
    session = authlib_session(world.jwk_ec_client["appId"], world.jwk_ec, "private_key_jwt")
    session.register_client_auth_method(PrivateKeyJWT(sigil.token_endpoint, headers={"kid": world.jwk_ec.kid}, alg="ES256"))
    token = session.fetch_token(sigil.token_endpoint, grant_type="client_credentials", scope=f"{ORDERS}/.default")
    validate(sigil, token["access_token"], audience=world.orders["appId"], alg="ES256", client=world.jwk_ec_client)


def test_authlib_private_key_jwt_without_key_hint_is_refused(sigil, world):
    # Authlib's default header (alg only) names no key: a clear invalid_client, not a token.
    session = authlib_session(world.jwk_rsa_client["appId"], world.jwk_rsa, "private_key_jwt")
    session.register_client_auth_method(PrivateKeyJWT(sigil.token_endpoint))
    from authlib.integrations.base_client.errors import OAuthError as AuthlibOAuthError
    with pytest.raises(AuthlibOAuthError) as failure:
        session.fetch_token(sigil.token_endpoint, grant_type="client_credentials", scope=f"{ORDERS}/.default")
    assert failure.value.error == "invalid_client", failure.value
    assert "AADSTS700027" in (failure.value.description or ""), failure.value.description


# --------------------------------------------------------------------------------------------
# The validator itself must be able to say no


def test_validator_rejects_wrong_audience_and_tampering(sigil, world):
    token = acquire(msal_app(sigil, world.secret_client["appId"], world.secret), f"{ORDERS}/.default")
    with pytest.raises(jwt.InvalidAudienceError):
        validate(sigil, token, audience=world.ledger["appId"], alg="ES256")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["Orders.Admin"]
    forged = ".".join([header, b64url(json.dumps(claims).encode()), signature])
    with pytest.raises(jwt.InvalidSignatureError):
        validate(sigil, forged, audience=world.orders["appId"], alg="ES256")
    with pytest.raises(AssertionError):
        validate(sigil, token, audience=world.orders["appId"], alg="RS256")


# --------------------------------------------------------------------------------------------
# The sign-in log saw what the clients did


def test_sign_in_log_records_the_interop_requests(sigil, cli, world):
    events = cli.json("logs", "signins")["value"]
    mine = {world.secret_client["appId"]: [], world.cert_client["appId"]: [], world.jwk_ec_client["appId"]: []}
    for e in events:
        if e["appId"] in mine:
            mine[e["appId"]].append(e)
    secret_events = mine[world.secret_client["appId"]]
    assert any(e["clientCredentialType"] == "clientSecret" and e["status"]["succeeded"] is True
               and e["resourceId"] == world.orders["appId"] for e in secret_events), secret_events[:3]
    assert any(e["status"]["succeeded"] is False and e["status"]["errorCode"] == 7000215 for e in secret_events), \
        "the wrong-secret attempts are not in the sign-in log"
    assert any(e["status"]["succeeded"] is False and e["status"]["errorCode"] == 500011 for e in secret_events), \
        "the unknown-resource attempt is not in the sign-in log"
    cert_events = mine[world.cert_client["appId"]]
    assert any(e["clientCredentialType"] == "certificate" and e["status"]["succeeded"] is True
               and (e["credentialKeyId"] or "").upper() == world.cert.sha1_hex.upper() for e in cert_events), cert_events[:3]
    assert any(e["clientCredentialType"] == "clientAssertion" and e["status"]["succeeded"] is True
               and e["credentialKeyId"] == world.jwk_ec.kid for e in mine[world.jwk_ec_client["appId"]]), mine[world.jwk_ec_client["appId"]][:3]
    assert all(world.secret not in json.dumps(e) for e in events), "a secret reached the sign-in log"


# --------------------------------------------------------------------------------------------
# Signing key rotation (last: it changes the shared server's active keys)


def test_key_rotation_is_announced_and_old_tokens_survive(sigil, cli, world):
    credential = ClientSecretCredential(sigil.tenant, world.secret_client["appId"], world.secret,
                                        authority=sigil.base_url, disable_instance_discovery=True)
    rs_app = msal_app(sigil, world.secret_client["appId"], world.secret)

    old_es = credential.get_token(f"{ORDERS}/.default").token
    old_rs = acquire(rs_app, f"{LEDGER}/.default")
    kids_before = sigil.jwks_kids()
    assert token_kid(old_es) in kids_before and token_kid(old_rs) in kids_before

    rotated = rotate_keys(cli)
    assert rotated, rotated

    # azure-identity caches tokens; a fresh credential asks the server again.
    credential = ClientSecretCredential(sigil.tenant, world.secret_client["appId"], world.secret,
                                        authority=sigil.base_url, disable_instance_discovery=True)
    new_es = credential.get_token(f"{ORDERS}/.default").token
    rs_app = msal_app(sigil, world.secret_client["appId"], world.secret)  # a fresh token cache
    new_rs = acquire(rs_app, f"{LEDGER}/.default")

    for old, new in ((old_es, new_es), (old_rs, new_rs)):
        assert token_kid(new) != token_kid(old), "tokens issued after rotation must be signed with the next key"
        assert token_kid(new) in kids_before, "the key that signs now was not published before it signed"
    kids_after = sigil.jwks_kids()
    assert token_kid(old_es) in kids_after and token_kid(old_rs) in kids_after, "retired keys must stay published"

    validate(sigil, old_es, audience=world.orders["appId"], alg="ES256", client=world.secret_client)
    validate(sigil, old_rs, audience=world.ledger["appId"], alg="RS256", client=world.secret_client)
    validate(sigil, new_es, audience=world.orders["appId"], alg="ES256", client=world.secret_client)
    validate(sigil, new_rs, audience=world.ledger["appId"], alg="RS256", client=world.secret_client)

    listed = cli.json("keys", "list")
    listed = listed["value"] if isinstance(listed, dict) else listed
    states = {k["kid"]: k["state"] for k in listed}
    assert states.get(token_kid(new_es)) == "active" and states.get(token_kid(old_es)) == "retired", states
    nexts = [k for k in listed if k["state"] == "next"]
    assert {k["alg"] for k in nexts} == {"ES256", "RS256"}, "a new next key must be published for each algorithm"
    assert {k["kid"] for k in nexts} <= kids_after, "the next keys must already be in the JWKS"

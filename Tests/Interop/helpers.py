"""Helpers shared by the interop tests: key material made with `cryptography`, Sigil's secret
format, and a resource server's token validation with PyJWT."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import ssl
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from conftest import b64url


# --------------------------------------------------------------------------------------------
# Key material, made here with `cryptography`


@dataclass
class Certificate:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    key_pem: str
    cert_pem: str
    cert_file: Path
    combined_file: Path  # key + certificate, as azure-identity's CertificateCredential reads it
    pfx_file: Path

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def sha1_hex(self) -> str:
        return hashlib.sha1(self.der).hexdigest()

    @property
    def x5t(self) -> str:
        return b64url(hashlib.sha1(self.der).digest())

    @property
    def x5t_s256(self) -> str:
        return b64url(hashlib.sha256(self.der).digest())


def make_certificate(directory: Path, name: str, lifetime: dt.timedelta = dt.timedelta(days=30),
                     key_size: int = 2048, backdate: dt.timedelta = dt.timedelta(minutes=5)) -> Certificate:
    """A self-signed RSA certificate valid from `backdate` ago for `lifetime`, written as PEM (the
    certificate alone, and key + certificate) and PKCS#12."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - backdate)
            .not_valid_after(now + lifetime)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    directory.mkdir(parents=True, exist_ok=True)
    cert_file = directory / f"{name}.cert.pem"
    cert_file.write_text(cert_pem)
    combined = directory / f"{name}.pem"
    combined.write_text(key_pem + cert_pem)
    pfx = directory / f"{name}.pfx"
    pfx.write_bytes(pkcs12.serialize_key_and_certificates(name.encode(), key, cert, None, serialization.NoEncryption()))
    return Certificate(key, cert, key_pem, cert_pem, cert_file, combined, pfx)


SECRET_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def sigil_secret_checksum(body: str) -> str:
    crc, digits = zlib.crc32(body.encode()), ""
    while crc:
        crc, digit = divmod(crc, 62)
        digits = SECRET_ALPHABET[digit] + digits
    return digits.rjust(6, "0")


def well_formed_wrong_secret() -> str:
    """A secret in Sigil's format (DESIGN §7), checksum right, that was never issued."""
    body = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(40))
    return "sgs_" + body + sigil_secret_checksum(body)


# --------------------------------------------------------------------------------------------
# What a resource server does with a token: PyJWT's PyJWKClient, from discovery


def validate(server, token: str, *, audience: str, alg: str, client: dict | None = None,
             roles: list[str] | None = None, keys_from=None) -> dict:
    """Validates `token` as a resource server trusting `server` would. `keys_from` (another
    replica) supplies the JWKS instead, through its own discovery document."""
    discovery = requests.get(server.discovery_url, verify=server.ca_file, timeout=10)
    assert discovery.status_code == 200, discovery.text
    discovery = discovery.json()
    assert discovery["issuer"] == server.issuer, discovery["issuer"]
    keys_server = keys_from or server
    jwks_uri = discovery["jwks_uri"]
    if keys_from is not None:
        jwks_uri = requests.get(keys_from.discovery_url, verify=keys_from.ca_file, timeout=10).json()["jwks_uri"]
    jwks = jwt.PyJWKClient(jwks_uri, cache_keys=False,
                           ssl_context=ssl.create_default_context(cafile=keys_server.ca_file))
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg, header
    signing_key = jwks.get_signing_key_from_jwt(token)
    assert signing_key.algorithm_name == alg, (signing_key.algorithm_name, signing_key.key_id)
    claims = jwt.decode(token, signing_key.key, algorithms=[alg], audience=audience, issuer=server.issuer,
                        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"], "verify_exp": True})
    assert claims["tid"] == server.tenant, claims
    assert claims["idtyp"] == "app", claims
    if client is not None:
        assert claims.get("appid") == client["appId"] or claims.get("azp") == client["appId"], claims
        assert claims["oid"] == client["servicePrincipalId"] or claims["sub"] == client["servicePrincipalId"], claims
    if roles is not None:
        assert sorted(claims.get("roles", [])) == sorted(roles), claims
    return claims


def token_kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


# --------------------------------------------------------------------------------------------
# Webhook receivers (vault events, alerts)


def verify_webhook(key: str, header: str | None, body: bytes) -> bool:
    """A webhook receiver's check of X-Sigil-Signature, as docs/vault.md and docs/alerts.md give it."""
    if not header:
        return False
    fields = dict(part.split("=", 1) for part in header.split(","))
    if abs(time.time() - int(fields["t"])) > 300:
        return False
    expected = hmac.new(key.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["sha256"])


def wait_for(condition, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")

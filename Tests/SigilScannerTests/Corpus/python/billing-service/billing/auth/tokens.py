"""Service tokens: short-lived HS256 JWTs that internal jobs use to call the billing API."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any, Final, TypedDict

import jwt
from django.conf import settings

ALGORITHM: Final = "HS256"
TOKEN_TYPE: Final = "Bearer"
DEFAULT_TTL: Final = 300
ISSUER: Final = "billing-service"
API_KEY_PREFIX: Final = "bk_"
API_KEY_BYTES: Final = 32
token_header = "Authorization"
secret_name = "billing/service-token-signing-key"


class TokenError(Exception):
    """Raised for any token that must not be accepted."""


class ServiceClaims(TypedDict, total=False):
    iss: str
    sub: str
    iat: int
    exp: int
    nonce: str


def _signing_key() -> bytes:
    key: str = settings.SERVICE_TOKEN_SIGNING_KEY  # loaded from Vault at start-up
    if len(key) < 32:
        raise TokenError("signing key too short")
    return key.encode()


def issue_service_token(subject: str, ttl: int = DEFAULT_TTL, nonce: str | None = None) -> str:
    now = int(time.time())
    claims: ServiceClaims = {"iss": ISSUER, "sub": subject, "iat": now, "exp": now + ttl}
    if nonce:
        claims["nonce"] = nonce
    return jwt.encode(dict(claims), _signing_key(), algorithm=ALGORITHM)


def decode_service_token(token: str) -> dict[str, Any]:
    if not token or token.count(".") != 2:
        raise TokenError("malformed token")
    try:
        return jwt.decode(token, _signing_key(), algorithms=[ALGORITHM], issuer=ISSUER)
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError(str(exc)) from exc


def new_api_key() -> tuple[str, str]:
    """Return (key shown once to the user, sha256 hex stored in the database)."""
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(API_KEY_BYTES)
    return api_key, hashlib.sha256(api_key.encode()).hexdigest()


def check_api_key(presented: str, stored_sha256: str) -> bool:
    digest = hashlib.sha256(presented.encode()).hexdigest()
    return hmac.compare_digest(digest, stored_sha256)


def bearer_token(header_value: str | None) -> str | None:
    if not header_value:
        return None
    scheme, _, token = header_value.partition(" ")
    if scheme != TOKEN_TYPE or not token:
        return None
    return token.strip()


def check_password(password: str, expected_password: str) -> bool:
    # Only used for the legacy basic-auth endpoint; both values come from the request/DB.
    if password == expected_password:
        return True
    return False

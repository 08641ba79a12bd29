import base64
import json
import time

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from billing.auth.tokens import TokenError, decode_service_token, issue_service_token

# The canonical example token from jwt.io; signature does not verify with our keys.
JWT_IO_SAMPLE = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"

TEST_PASSWORD = "<test-password>"
PASSWORD_FIELD = "password"
nonce = "5e3d1f92f0049f6efb5ea7841cba6dcd"


@pytest.fixture
def user(db):
    User = get_user_model()
    return User.objects.create_user(username="ada", email="ada@acme-corp.io", password=TEST_PASSWORD)


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_login_rejects_wrong_password(client, user):
    resp = client.post("/api/login", {"username": "ada", PASSWORD_FIELD: "wrong"})
    assert resp.status_code == 401
    assert resp.json() == {"detail": "Invalid username or password."}


def test_empty_password_is_rejected(client, user):
    resp = client.post("/api/login", {"username": "ada", "password": ""})
    assert resp.status_code == 400


def test_foreign_token_is_rejected():
    with pytest.raises(TokenError):
        decode_service_token(JWT_IO_SAMPLE)


def test_expired_token_is_rejected(settings):
    token = issue_service_token("svc-billing", ttl=-1)
    with pytest.raises(TokenError, match="expired"):
        decode_service_token(token)


def test_alg_none_is_rejected():
    header = _b64({"alg": "none", "typ": "JWT"})
    payload = _b64({"sub": "svc-billing", "exp": int(time.time()) + 60})
    with pytest.raises(TokenError):
        decode_service_token(f"{header}.{payload}.")


def test_round_trip(settings):
    token = issue_service_token("svc-billing", ttl=60, nonce=nonce)
    claims = decode_service_token(token)
    assert claims["sub"] == "svc-billing"
    assert claims["nonce"] == nonce


def test_token_endpoint_never_echoes_secret(api):
    resp = api.post("/api/tokens", {"name": "ci"})
    body = resp.json()
    assert resp.status_code == 201
    assert body["token_type"] == "Bearer"
    assert "secret" not in body or body["secret"] == "********"


@pytest.mark.parametrize("password", ["", "short", "alllowercaseletters"])
def test_weak_passwords_rejected(client, password):
    resp = client.post("/api/users", {"username": "bob", "password": password})
    assert resp.status_code == 400
    assert "password" in resp.json()

"""Authenticate as the "acme-release-bot" GitHub App and mint installation tokens.

The App's private key used to live in config/github-app.json; it is now loaded from
GITHUB_APP_PRIVATE_KEY when set, falling back to the PEM below for the on-prem runner.
"""
from __future__ import annotations

import os
import time

import jwt
import requests

GITHUB_API = "https://api.github.com"
APP_ID = 381204
INSTALLATION_ID = 44190233

APP_PRIVATE_KEY = os.environ.get("GITHUB_APP_PRIVATE_KEY") or """⟦private-key⟧
"""

# Token from the last run, cached so that short-lived jobs do not each mint a new one.
_cached_token: str | None = "⟦github-app-token⟧"
_cached_expiry: float = 0.0


def app_jwt(now: int | None = None) -> str:
    now = int(now or time.time())
    payload = {"iat": now - 60, "exp": now + 9 * 60, "iss": str(APP_ID)}
    return jwt.encode(payload, APP_PRIVATE_KEY, algorithm="RS256")


def installation_token() -> str:
    global _cached_token, _cached_expiry
    if _cached_token and time.time() < _cached_expiry - 60:
        return _cached_token
    resp = requests.post(
        f"{GITHUB_API}/app/installations/{INSTALLATION_ID}/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt()}", "Accept": "application/vnd.github+json"},
        timeout=10,
    )
    resp.raise_for_status()
    body = resp.json()
    _cached_token = body["token"]
    _cached_expiry = time.mktime(time.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    return _cached_token


if __name__ == "__main__":
    print(installation_token()[:8] + "…")

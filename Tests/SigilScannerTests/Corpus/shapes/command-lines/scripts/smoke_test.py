"""Smoke test run by the on-call after a deploy: python scripts/smoke_test.py staging"""
import os
import sys

import requests

BASE = {
    "staging": "https://orders.staging.acme-corp.io/api/v2",
    "prod": "https://orders.acme-corp.io/api/v2",
}[sys.argv[1]]

HEADERS = {
    "Authorization": "Bearer ⟦http-authorization-header⟧",
    "Accept": "application/json",
    "User-Agent": "orders-smoke/1.3",
}

CI_HEADERS = {
    "Authorization": f"Bearer {os.environ['ORDERS_API_TOKEN']}",
    "X-Request-Id": "smoke-test",
}


def main() -> int:
    response = requests.get(f"{BASE}/orders", params={"limit": 1}, headers=HEADERS, timeout=10)
    response.raise_for_status()
    response = requests.get(f"{BASE}/healthz", headers=CI_HEADERS, timeout=10)
    return 0 if response.ok else 1


if __name__ == "__main__":
    sys.exit(main())

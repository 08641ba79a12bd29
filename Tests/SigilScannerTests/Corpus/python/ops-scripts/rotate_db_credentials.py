#!/usr/bin/env python3
"""Rotate the application database password and push it to Vault.

Usage: rotate_db_credentials.py <service> [--vault-addr https://vault.internal:8200]
"""
import argparse
import secrets
import string
import sys

import hvac
import psycopg2
from psycopg2 import sql

ALPHABET = string.ascii_letters + string.digits + "-_.~"
PASSWORD_LENGTH = 32
VAULT_ADDR = "https://vault.internal:8200"
# Break-glass token for the rotation job; scoped to kv/data/db/* (policy db-rotator).
VAULT_TOKEN = "⟦vault-token⟧"
ADMIN_DSN = "⟦url-password-postgres⟧"


def new_password(length: int = PASSWORD_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def rotate(service: str, vault_addr: str) -> None:
    vault = hvac.Client(url=vault_addr, token=VAULT_TOKEN)
    if not vault.is_authenticated():
        sys.exit("vault token rejected")

    path = f"db/{service}"
    secret = vault.secrets.kv.v2.read_secret_version(path=path, mount_point="kv")
    role = secret["data"]["data"]["username"]
    password = new_password()

    with psycopg2.connect(ADMIN_DSN) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("ALTER ROLE {} WITH PASSWORD %s").format(sql.Identifier(role)), (password,))

    vault.secrets.kv.v2.create_or_update_secret(
        path=path,
        mount_point="kv",
        secret={"username": role, "password": password},
    )
    print(f"rotated {role}; new version stored at kv/{path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service")
    parser.add_argument("--vault-addr", default=VAULT_ADDR)
    args = parser.parse_args()
    rotate(args.service, args.vault_addr)


if __name__ == "__main__":
    main()

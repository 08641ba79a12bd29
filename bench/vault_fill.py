"""Writes COUNT vault secret versions straight into a stopped server's store (the KEK rotation
benchmark): a vault `bench` with COUNT / 10 secrets of 10 versions each, every version sealed the
way Sigil seals it (SecretEnvelope: a fresh AES-256-GCM data key per version, wrapped by the KEK,
both bound to "vault-secret:SECRET_ID/VERSION"), so the server opens them and a rotation re-wraps
them. Needs `cryptography` (msal and azure-identity bring it).

usage: vault_fill.py sqlite:FILE|postgres:URL TENANT_ID KEK_BASE64 COUNT
"""
import base64
import hashlib
import hmac
import io
import os
import sqlite3
import subprocess
import sys
import time
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

store, tenant, kek_text, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
kek = base64.b64decode(kek_text.strip())
kek_id = hmac.new(kek, b"sigil-kek-id", hashlib.sha256).digest()[:8].hex()
now = int(time.time() * 1000)


def seal(key, plaintext, context):
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, context.encode())).decode()


vault_id = str(uuid.uuid4())
vaults = [(vault_id, tenant, "bench", 90, 0, now)]
secrets, versions = [], []
for n in range(count // 10):
    secret_id = str(uuid.uuid4())
    secrets.append((secret_id, vault_id, f"secret-{n}", f"secret-{n}", now, now))
    for seq in range(1, 11):
        version = uuid.uuid4().hex
        context = f"vault-secret:{secret_id}/{version}"
        data_key = os.urandom(32)
        value = f"value {n}.{seq} " + "x" * 64
        versions.append((secret_id, version, seq, None, "{}", 1, None, None, now, now, 0,
                         seal(data_key, value.encode(), context), seal(kek, data_key, context), kek_id))

columns = {
    "vaults": "id, tenant_id, name, retention_days, purge_protection, created_at",
    "vault_secrets": "id, vault_id, name, name_key, created_at, updated_at",
    "vault_secret_versions": "secret_id, version, seq, content_type, tags, enabled, not_before, expires, created_at, updated_at, "
                             "managed, ciphertext, wrapped_key, kek_id",
}
tables = [("vaults", vaults), ("vault_secrets", secrets), ("vault_secret_versions", versions)]
if store.startswith("sqlite:"):
    database = sqlite3.connect(store[len("sqlite:"):])
    database.execute("PRAGMA journal_mode = WAL")
    for table, rows in tables:
        marks = ", ".join("?" * len(rows[0]))
        database.executemany(f"INSERT INTO {table} ({columns[table]}) VALUES ({marks})", rows)
    database.commit()
    database.close()
else:
    url = store[len("postgres:"):]
    for table, rows in tables:
        text = io.StringIO()
        for row in rows:
            text.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
        subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", f"COPY {table} ({columns[table]}) FROM STDIN"],
                       input=text.getvalue(), text=True, check=True)
    # Statistics, as autovacuum would have gathered on a store filled over time: without them the
    # planner took the KEK id index for every row of the re-wrap's UPDATE (156 s instead of 8 s).
    subprocess.run(["psql", url, "-qc", "ANALYZE"], check=True)
print(f"wrote {len(versions)} versions under KEK {kek_id}", file=sys.stderr)

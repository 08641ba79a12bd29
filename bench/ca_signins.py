"""Writes COUNT sign-ins straight into a stopped server's SQLite store (the impact benchmark's
history): spread over the last 20 days, over the tenant's applications, from 2,000 addresses of
which a quarter lie outside 10.0.0.0/8. Stdlib only.

usage: ca_signins.py SQLITE_FILE TENANT_ID APPS_JSON COUNT
"""
import json
import random
import sqlite3
import sys
import time
import uuid

path, tenant, apps_file, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
apps = json.load(open(apps_file))["value"]
random.seed(7)
addresses = [f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}" for _ in range(1500)]
addresses += [f"203.0.113.{n % 254 + 1}" if n % 2 else f"2001:db8:ffff::{n:x}" for n in range(500)]
now = int(time.time() * 1000)
database = sqlite3.connect(path)
database.execute("PRAGMA journal_mode = WAL")
INSERT = """INSERT INTO sign_ins (id, tenant_id, time, app_id, app_display_name, service_principal_id, credential_type,
    ip_address, succeeded, conditional_access_status, risk_level, correlation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
rows = []
for n in range(count):
    app = apps[n % len(apps)]
    rows.append((str(uuid.uuid4()), tenant, now - random.randrange(20 * 86_400_000), app["appId"], app["displayName"],
                 app["servicePrincipalId"], "clientSecret", random.choice(addresses), 1, "notApplied", "none", str(uuid.uuid4())))
    if len(rows) == 50_000 or n == count - 1:
        database.executemany(INSERT, rows)
        rows = []
database.commit()
database.close()

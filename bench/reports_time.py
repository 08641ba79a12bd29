"""Times each triage report ROUNDS times over one keep-alive TLS connection (stdlib only) and
prints one line per report: name, median seconds, slowest seconds, rows; first the cheapest admin
call, as a baseline. Checks the answers
describe the data bench/reports_fill.sql wrote (every application listed, shares strictly between
0 and 1), so a fast wrong answer does not pass.

usage: reports_time.py BASE_URL CA_FILE TOKEN ROUNDS APPS
"""
import http.client
import json
import ssl
import statistics
import sys
import time
from urllib.parse import urlparse

base, ca, token, rounds, apps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
url = urlparse(base)
connection = http.client.HTTPSConnection(url.hostname, url.port, context=ssl.create_default_context(cafile=ca), timeout=120)


def get(path: str) -> dict:
    connection.request("GET", "/admin/v1/" + path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        sys.exit(f"GET {path}: HTTP {response.status} {body[:300]!r}")
    return json.loads(body)


def rows(name: str, answer: dict) -> int:
    if name == "baseline":
        return 1
    if name == "inventory":
        assert len(answer["value"]) >= apps * 3 // 2, len(answer["value"])
        return len(answer["value"])
    if name == "stale":
        return len(answer["unused"]) + len(answer["expiring"])
    if name == "stages":
        bench = [row for row in answer["value"] if row["appDisplayName"].startswith("bench-app-")]
        assert len(bench) == apps and answer["stages"]["secret-only"] >= apps // 2, answer["stages"]
        return len(answer["value"])
    if name == "assessment":
        secrets = next(item for item in answer["items"] if item["id"] == "appsWithoutSecrets")
        assert 0 <= answer["score"] <= 100 and len(answer["items"]) == 7 and not secrets["passed"], answer
        return len(answer["items"])
    assert 0 < answer["signInShare"] < 1 and 0 < answer["appShare"] < 1 and len(answer["daily"]) >= 29, answer
    return answer["signIns"]


# `baseline` is the cheapest admin call (the tenant): what any admin request costs.
reports = {"baseline": "tenant", "inventory": "reports/credentials", "stale": "reports/stale", "stages": "reports/stages?days=30",
           "secretless": "reports/secretless?days=30", "assessment": "assessment"}
for name, path in reports.items():
    times, count = [], 0
    for _ in range(rounds):
        started = time.monotonic()
        answer = get(path)
        times.append(time.monotonic() - started)
        count = rows(name, answer)
    print(f"{name} {statistics.median(times):.3f} {max(times):.3f} {count}")

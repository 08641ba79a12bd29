"""Creates LOCATIONS named locations and POLICIES enabled Conditional Access policies through the
admin API (stdlib only). No location contains 127.0.0.1, so every policy is evaluated in full for
the benchmark's client (service principals: All but the administrator) and none blocks it.

usage: ca_populate.py BASE_URL CA_FILE TOKEN LOCATIONS POLICIES ADMIN_NAME
"""
import http.client
import json
import ssl
import sys
from urllib.parse import urlparse

base, ca, token, locations, policies, admin = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
url = urlparse(base)
connection = http.client.HTTPSConnection(url.hostname, url.port, context=ssl.create_default_context(cafile=ca))


def post(path: str, body: dict) -> dict:
    connection.request("POST", "/admin/v1/identity/conditionalAccess/" + path, body=json.dumps(body),
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = connection.getresponse()
    answer = response.read()
    if response.status != 201:
        sys.exit(f"POST {path}: HTTP {response.status} {answer[:300]!r}")
    return json.loads(answer)


ids = []
for n in range(locations):
    # Two IPv4 /24s in 10.0.0.0/8 and an IPv6 /48 each; every tenth location is trusted.
    ranges = [f"10.{n // 256}.{n % 256}.0/24", f"10.{128 + n // 256}.{n % 256}.0/24", f"2001:db8:{n:x}::/48"]
    ids.append(post("namedLocations", {"displayName": f"bench-location-{n}", "isTrusted": n % 10 == 0,
                                        "ipRanges": [{"cidrAddress": r} for r in ranges]})["id"])
for n in range(policies):
    included = [ids[(n * 10 + k) % len(ids)] for k in range(10)]
    conditions = {"clientApplications": {"includeServicePrincipals": ["All"], "excludeServicePrincipals": [admin]},
                  "locations": {"includeLocations": included, "excludeLocations": ["AllTrusted"] if n % 2 else []}}
    if n % 10 == 0:
        conditions["servicePrincipalRiskLevels"] = ["high"]
    post("policies", {"displayName": f"bench-policy-{n}", "state": "enabled", "conditions": conditions,
                      "grantControls": {"operator": "OR", "builtInControls": ["block"]}})

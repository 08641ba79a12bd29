"""The OpenAPI document the server serves is valid OpenAPI 3.1 and describes every admin route the
server answers, with the security the server enforces."""

from __future__ import annotations

import re
from pathlib import Path

import requests
import yaml
from openapi_spec_validator import validate

from conftest import AdminAPI

# The admin API's route files: AdminAPI.swift and its extensions, one per resource.
ROUTES = sorted((Path(__file__).resolve().parents[2] / "Sources/SigilServer/Admin").glob("AdminAPI*.swift"))


PERMISSIONS = Path(__file__).resolve().parents[2] / "Sources/SigilCore/Governance/AdminPermission.swift"


def route_permissions() -> dict[tuple[str, str], str]:
    """(method, path) -> the permission each route declares in the server's route table."""
    names = dict(re.findall(r'case (\w+) = "([^"]+)"', PERMISSIONS.read_text()))
    source = "\n".join(path.read_text() for path in ROUTES)
    return {(method, "/admin/v1/" + path): names[permission]
            for method, path, permission in re.findall(r'AdminRoute\(\.(\w+), "([^"]+)", \.(\w+)', source)}


def served_document(sigil) -> dict:
    r = requests.get(f"{sigil.base_url}/admin/v1/openapi.yaml", timeout=10)   # no token needed
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/yaml")
    return yaml.safe_load(r.text)


def test_served_document_is_valid_openapi_3_1(sigil):
    document = served_document(sigil)
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_admin_route_is_documented(sigil):
    document = served_document(sigil)
    registered = set()
    source = "\n".join(path.read_text() for path in ROUTES)
    for method, path in re.findall(r'group\.(get|post|put|patch|delete)\("([^"]+)"', source):
        registered.add((method, "/admin/v1/" + path))
    for method, path in re.findall(r'AdminRoute\(\.(get|post|put|patch|delete), "([^"]+)"', source):
        registered.add((method, "/admin/v1/" + path))
    assert len(registered) >= 18
    documented = {(method, path) for path, item in document["paths"].items() for method in item
                  if method in {"get", "post", "put", "patch", "delete"}}
    missing = registered - documented
    assert not missing, f"routes the server answers but the document does not describe: {sorted(missing)}"
    stale = {route for route in documented if route[1].startswith("/admin/v1/")} - registered
    assert not stale, f"documented admin routes the server does not have: {sorted(stale)}"


def test_documented_security_matches_the_server(sigil):
    """Every admin operation but the document itself needs a bearer token; without one the server
    answers 401, as documented."""
    document = served_document(sigil)
    for path, item in document["paths"].items():
        if not path.startswith("/admin/v1/"):
            continue
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            open_route = path == "/admin/v1/openapi.yaml"
            security = operation.get("security", document.get("security"))
            assert (security == []) == open_route, f"{method} {path}: security {security}"
            if not open_route:
                assert "401" in operation["responses"], f"{method} {path} documents no 401"
                concrete = re.sub(r"\{[^}]+\}", "x", path)
                r = requests.request(method.upper(), sigil.base_url + concrete, timeout=10)
                assert r.status_code == 401, f"{method} {concrete} without a token: {r.status_code}"


def test_the_documents_examples_are_accepted_by_the_server(sigil, cli):
    """Every request example of the key and trusted-issuer operations is real: the server takes it."""
    import uuid
    document = served_document(sigil)
    admin = AdminAPI(sigil)
    app = f"examples-{uuid.uuid4().hex[:6]}"
    admin.ok("POST", "applications", {"displayName": app})
    examples = document["paths"]["/admin/v1/applications/{app}/keyCredentials"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert set(examples) == {"certificate", "jwk"}
    for name, example in examples.items():
        reply = admin.call("POST", f"applications/{app}/keyCredentials", example["value"])
        assert reply.status_code == 201, (name, reply.text)
    issuer = document["paths"]["/admin/v1/trustedIssuers"]["post"]["requestBody"]["content"]["application/json"]["example"]
    reply = admin.call("POST", "trustedIssuers", issuer)
    assert reply.status_code == 201, reply.text
    admin.call("DELETE", "trustedIssuers?issuer=" + __import__("urllib.parse").parse.quote(issuer["issuer"], safe=""))


def test_each_operation_names_the_permission_the_server_checks(sigil):
    """Scripts read `x-sigil-permission` to know which role an operation needs; it must be the one
    the route table declares (and the server checks, see RoleMatrixTests)."""
    document = served_document(sigil)
    declared = route_permissions()
    assert len(declared) >= 50
    documented = {(method, path): operation.get("x-sigil-permission")
                  for path, item in document["paths"].items() if path.startswith("/admin/v1/") and path != "/admin/v1/openapi.yaml"
                  for method, operation in item.items() if method in {"get", "post", "put", "patch", "delete"}}
    assert documented == declared
    known = set(document["components"]["schemas"]["AdminPermission"]["enum"])
    assert set(declared.values()) <= known

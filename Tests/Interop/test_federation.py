"""Workload identity federation against a real `sigil serve`: federated identity credentials
(FICs) managed through the CLI under Entra's rules, external tokens from a real OIDC issuer
(oidc_issuer.py) exchanged by unmodified azure-identity, and every way such an exchange must fail,
including issuers that misbehave."""

from __future__ import annotations

import concurrent.futures
import json
import re
import threading
import time
import uuid

import jwt
import pytest
from joserfc.jwk import ECKey

from conftest import AdminAPI
from helpers import validate
from oidc_issuer import (ALGORITHMS, DEFAULT_AUDIENCE, DISCOVERY_PATH, JWKS_PATH, ConnectionCanary, Hostile, SigningKey,
                         TestIssuer, TLSMaterial)
from secretless_support import (ProtocolHost, assert_refused, child_env, client_token, exchange, fic_list, issued,
                                principal, run_client, sign_ins, unique)
from test_cli import fails

GITHUB_BRANCH = "repo:contoso/payments:ref:refs/heads/main"
GITHUB_ENVIRONMENT = "repo:contoso/payments:environment:prod"
GITLAB_BRANCH = "project_path:contoso-group/payments:ref_type:branch:ref:main"
KUBERNETES = "system:serviceaccount:payments:api"
HOSTILE_DEADLINE = 20.0      # seconds a refusal may take when an issuer misbehaves
HEALTHY_LATENCY = 3.0        # seconds a request through a healthy issuer may take meanwhile (debug build)


# --------------------------------------------------------------------------------------------
# Fixtures: issuers, a resource, apps with FICs


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> TLSMaterial:
    return TLSMaterial.create(tmp_path_factory.mktemp("issuer-tls"))


@pytest.fixture(scope="module")
def issuers(cli, tls, tmp_path_factory):
    """Factory: a started TestIssuer on the module's CA, trusted by Sigil unless trusted=False."""
    started: list[TestIssuer] = []

    def make(trusted: bool = True) -> TestIssuer:
        issuer = TestIssuer(tmp_path_factory.mktemp("issuer"), tls=tls).start()
        started.append(issuer)
        if trusted:
            cli.run("issuer", "trust", issuer.url, "--ca", str(tls.ca_file))
        return issuer

    yield make
    for issuer in started:
        issuer.stop()


@pytest.fixture(scope="module")
def issuer(issuers) -> TestIssuer:
    return issuers()


@pytest.fixture(scope="module")
def api(cli) -> dict:
    """The resource the federated workloads call."""
    name = unique("fed-api")
    app = cli.json("app", "create", name, "--identifier-uri", f"api://{name}")
    app["scope"] = f"api://{name}/.default"
    return app


def add_fic(cli, kind: str, owner: str, issuer: str, subject: str | None = None, claims_match: str | None = None,
            name: str | None = None, audience: str | None = None, check: bool = True):
    """`sigil {app|mi} federated add OWNER …`; the created FIC (JSON), or the CompletedProcess when check=False."""
    args = [kind, "federated", "add", owner, "--name", name or unique("fic"), "--issuer", issuer]
    if subject is not None:
        args += ["--subject", subject]
    if claims_match is not None:
        args += ["--claims-match", claims_match]
    if audience is not None:
        args += ["--audience", audience]
    return cli.json(*args) if check else cli.run(*args, check=False)


def federated_app(cli, issuer: TestIssuer, subject: str | None = None, claims_match: str | None = None) -> tuple[dict, dict]:
    """A new app trusting `issuer` for `subject` (or the expression): (app, fic)."""
    app = cli.json("app", "create", unique("fed-client"))
    return app, add_fic(cli, "app", app["appId"], issuer.url, subject=subject, claims_match=claims_match)


def check_token(sigil, token: str, api: dict, client: dict) -> dict:
    claims = validate(sigil, token, audience=api["appId"], alg="ES256", client=principal(client))
    assert claims.get("cred_type") == "federatedIdentityCredential", claims
    return claims


# --------------------------------------------------------------------------------------------
# FIC management through the CLI, for apps and user-assigned managed identities alike


@pytest.fixture(params=["app", "mi"])
def owner(request, cli) -> tuple[str, str]:
    """(kind, name) of a fresh application or user-assigned managed identity."""
    kind = request.param
    name = unique(f"fic-owner-{kind}")
    cli.json(kind, "create", name)
    return kind, name


def refused_unchanged(cli, kind: str, owner_name: str, args: list[str], says: str | re.Pattern) -> str:
    """`sigil KIND federated add OWNER ARGS` fails with one line saying `says`, and the list of
    FICs is the same before and after."""
    before = fic_list(cli, kind, owner_name)
    line = fails(cli, kind, "federated", "add", owner_name, *args)
    if isinstance(says, re.Pattern):
        assert says.search(line), f"{line!r} does not match {says.pattern!r}"
    else:
        assert says.lower() in line.lower(), f"{line!r} does not say {says!r}"
    assert fic_list(cli, kind, owner_name) == before, f"a refused add changed the list: {args}"
    return line


def test_fic_add_list_remove(cli, owner):
    kind, name = owner
    exact = add_fic(cli, kind, name, "https://token.actions.githubusercontent.com", subject=GITHUB_BRANCH, name="gh-main")
    assert exact["name"] == "gh-main" and exact["subject"] == GITHUB_BRANCH, exact
    assert exact["issuer"] == "https://token.actions.githubusercontent.com", exact
    assert exact["audiences"] == [DEFAULT_AUDIENCE], "the default audience is api://AzureADTokenExchange"
    assert exact["claimsMatchingExpression"] is None, exact
    assert exact["id"] and "description" in exact, exact

    expression = "claims['sub'] matches 'repo:contoso/payments:*'"
    flexible = add_fic(cli, kind, name, "https://token.actions.githubusercontent.com", claims_match=expression,
                       name="gh-any", audience="api://custom-audience")
    assert flexible["subject"] is None, flexible
    assert flexible["claimsMatchingExpression"] == {"value": expression, "languageVersion": 1}, flexible
    assert flexible["audiences"] == ["api://custom-audience"], flexible

    listed = {f["name"]: f for f in fic_list(cli, kind, name)}
    assert listed == {"gh-main": exact, "gh-any": flexible}, listed
    human = cli.run(kind, "federated", "list", name).stdout
    assert "gh-main" in human and GITHUB_BRANCH in human, human

    cli.run(kind, "federated", "remove", name, "gh-main")          # by name
    cli.run(kind, "federated", "remove", name, flexible["id"])     # by id
    assert fic_list(cli, kind, name) == []


def test_fic_name_rules(cli, owner):
    kind, name = owner
    for good in ("abc", "0-deploy_prod", "a" * 120):
        add_fic(cli, kind, name, f"https://issuer.example/{good[:20]}", subject=unique("sub"), name=good)
    for bad in ("ab", "a" * 121, "-deploy", "_deploy", "has space", "a/b", "a.b", "prod?x", "é-prod"):
        refused_unchanged(cli, kind, name, [f"--name={bad}", "--issuer", "https://issuer.example", "--subject", unique("s")], "name")


def test_fic_value_lengths(cli, owner):
    kind, name = owner
    base = "https://issuer.example/"
    add_fic(cli, kind, name, base + "i" * (600 - len(base)), subject="s600-issuer")
    add_fic(cli, kind, name, base, subject="s" * 600)
    add_fic(cli, kind, name, base, subject="s600-audience", audience="api://" + "a" * (600 - len("api://")))
    for args in (["--issuer", base + "i" * (601 - len(base)), "--subject", "x"],
                 ["--issuer", base, "--subject", "s" * 601],
                 ["--issuer", base, "--subject", "y", "--audience", "api://" + "a" * (601 - len("api://"))]):
        refused_unchanged(cli, kind, name, ["--name", unique("long"), *args], "600")


@pytest.mark.parametrize("issuer_url", [" https://issuer.example", "https://issuer.example ", "https://issuer.example\t"],
                         ids=["leading", "trailing", "trailing-tab"])
def test_fic_issuer_with_surrounding_space_is_refused(cli, owner, issuer_url):
    kind, name = owner
    refused_unchanged(cli, kind, name, ["--name", unique("sp"), "--issuer", issuer_url, "--subject", "x"], "space")


def test_fic_issuer_and_subject_unique_and_at_most_20(cli, owner):
    kind, name = owner
    issuer = "https://issuer.example"
    add_fic(cli, kind, name, issuer, subject=GITHUB_BRANCH, name="first")
    refused_unchanged(cli, kind, name, ["--name", "second", "--issuer", issuer, "--subject", GITHUB_BRANCH], "already")
    refused_unchanged(cli, kind, name, ["--name", "first", "--issuer", issuer, "--subject", GITHUB_ENVIRONMENT], "already")
    # Matching is case-sensitive, so a subject differing only in case is a different credential.
    add_fic(cli, kind, name, issuer, subject=GITHUB_BRANCH.upper(), name="first-upper")
    for i in range(18):
        add_fic(cli, kind, name, issuer, subject=f"{GITHUB_BRANCH}-{i}", name=f"fic-{i:02d}")
    assert len(fic_list(cli, kind, name)) == 20
    refused_unchanged(cli, kind, name, ["--name", "twenty-first", "--issuer", issuer, "--subject", "another"], "20")


def test_fic_subject_and_claims_match_are_mutually_exclusive(cli, owner):
    kind, name = owner
    common = ["--issuer", "https://issuer.example"]
    refused_unchanged(cli, kind, name, ["--name", unique("both"), *common, "--subject", "x",
                                        "--claims-match", "claims['sub'] eq 'x'"], re.compile("subject.*claims|claims.*subject", re.I))
    refused_unchanged(cli, kind, name, ["--name", unique("neither"), *common], re.compile("subject.*claims|claims.*subject", re.I))


@pytest.mark.parametrize("expression, position", [
    ("claims['sub'] matchez 'x'", 15),
    ("claims['sub'] eq 'x' or claims['aud'] eq 'y'", 22),
    ("claims[sub] eq 'x'", 1),
    ("claims['sub'] eq 'no closing quote", 35),
    ("claims['s b'] eq 'x'", 10),
])
def test_fic_claims_match_parse_error_names_the_position(cli, owner, expression, position):
    kind, name = owner
    refused_unchanged(cli, kind, name, ["--name", unique("expr"), "--issuer", "https://issuer.example",
                                        "--claims-match", expression],
                      re.compile(rf"(character|position|column)\D{{0,3}}{position}\b", re.I))


@pytest.mark.parametrize("audiences", [[], [DEFAULT_AUDIENCE, "api://second"]], ids=["none", "two"])
def test_fic_exactly_one_audience_through_the_admin_api(sigil, cli, owner, audiences):
    kind, name = owner
    collection = "applications" if kind == "app" else "managedIdentities"
    admin = AdminAPI(sigil)
    before = fic_list(cli, kind, name)
    r = admin.call("POST", f"{collection}/{name}/federatedIdentityCredentials",
                   {"name": unique("aud"), "issuer": "https://issuer.example", "subject": "x", "audiences": audiences})
    assert r.status_code == 400, f"{r.status_code} {r.text}"
    assert "audience" in r.json()["error"]["message"].lower(), r.text
    assert fic_list(cli, kind, name) == before


# --------------------------------------------------------------------------------------------
# The exchange with unmodified azure-identity, one child process per client


def sdk_env(sigil, app: dict, token_file=None, scope: str = "") -> dict:
    variables = {"AZURE_AUTHORITY_HOST": sigil.base_url, "AZURE_TENANT_ID": sigil.tenant, "AZURE_CLIENT_ID": app["appId"],
                 "REQUESTS_CA_BUNDLE": sigil.ca_file, "SIGIL_TEST_SCOPE": scope}
    if token_file is not None:
        variables["AZURE_FEDERATED_TOKEN_FILE"] = str(token_file)
    return child_env(**variables)


WORKLOAD_IDENTITY = """
import os
from azure.identity import WorkloadIdentityCredential
token = WorkloadIdentityCredential().get_token(os.environ["SIGIL_TEST_SCOPE"])
result = {"token": token.token, "expires_on": token.expires_on}
"""

CLIENT_ASSERTION = """
import os
from azure.identity import ClientAssertionCredential
def external_token():
    with open(os.environ["SIGIL_TEST_ASSERTION_FILE"]) as f:
        return f.read().strip()
credential = ClientAssertionCredential(os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"], external_token,
                                       authority=os.environ["SIGIL_TEST_AUTHORITY"])
token = credential.get_token(os.environ["SIGIL_TEST_SCOPE"])
result = {"token": token.token, "expires_on": token.expires_on}
"""

# Nothing excluded: EnvironmentCredential (first in the chain) finds no secret or certificate and
# steps aside; WorkloadIdentityCredential (second) is configured by the environment and answers.
DEFAULT_CREDENTIAL = """
import os
from azure.identity import DefaultAzureCredential
token = DefaultAzureCredential().get_token(os.environ["SIGIL_TEST_SCOPE"])
result = {"token": token.token, "expires_on": token.expires_on}
"""


def test_workload_identity_credential_github_branch(sigil, cli, issuer, api, tmp_path):
    app, _ = federated_app(cli, issuer, subject=GITHUB_BRANCH)
    token_file = tmp_path / "github-token"
    token_file.write_text(issuer.mint(GITHUB_BRANCH, alg="RS256",
                                      extra_claims={"repository": "contoso/payments", "ref": "refs/heads/main"}))
    result = run_client(WORKLOAD_IDENTITY, sdk_env(sigil, app, token_file, api["scope"]))
    check_token(sigil, client_token(result), api, app)


def test_workload_identity_credential_kubernetes(sigil, cli, issuer, api, tmp_path):
    app, _ = federated_app(cli, issuer, subject=KUBERNETES)
    token_file = tmp_path / "projected-token"
    token_file.write_text(issuer.mint(KUBERNETES, alg="ES256", lifetime=3600,
                                      extra_claims={"kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "api"}}}))
    result = run_client(WORKLOAD_IDENTITY, sdk_env(sigil, app, token_file, api["scope"]))
    check_token(sigil, client_token(result), api, app)


def test_client_assertion_credential_github_environment(sigil, cli, issuer, api, tmp_path):
    app, _ = federated_app(cli, issuer, subject=GITHUB_ENVIRONMENT)
    assertion_file = tmp_path / "assertion"
    assertion_file.write_text(issuer.mint(GITHUB_ENVIRONMENT, alg="PS256", extra_claims={"environment": "prod"}))
    env = sdk_env(sigil, app, scope=api["scope"])
    env.update(SIGIL_TEST_ASSERTION_FILE=str(assertion_file), SIGIL_TEST_AUTHORITY=sigil.base_url)
    result = run_client(CLIENT_ASSERTION, env)
    check_token(sigil, client_token(result), api, app)


def test_default_azure_credential_with_job_workflow_ref_expression(sigil, cli, issuer, api, tmp_path):
    expression = ("claims['sub'] matches 'repo:contoso/payments:*' and "
                  "claims['job_workflow_ref'] matches 'contoso/workflows/.github/workflows/deploy.yml@refs/heads/*'")
    app, _ = federated_app(cli, issuer, claims_match=expression)
    token_file = tmp_path / "github-token"
    token_file.write_text(issuer.mint(GITHUB_ENVIRONMENT, extra_claims={
        "job_workflow_ref": "contoso/workflows/.github/workflows/deploy.yml@refs/heads/release"}))
    result = run_client(DEFAULT_CREDENTIAL, sdk_env(sigil, app, token_file, api["scope"]))
    check_token(sigil, client_token(result), api, app)

    # The same workflow from a tag is not covered by the expression: no FIC matches.
    tagged = issuer.mint(GITHUB_ENVIRONMENT, extra_claims={
        "job_workflow_ref": "contoso/workflows/.github/workflows/deploy.yml@refs/tags/v1"})
    assert_refused(exchange(sigil, app["appId"], tagged, api["scope"]), 70021)
    # Nor is a token without the claim.
    assert_refused(exchange(sigil, app["appId"], issuer.mint(GITHUB_ENVIRONMENT), api["scope"]), 70021)


def test_gitlab_token_presented_twice(sigil, cli, issuer, api):
    """An external token may be presented again within its lifetime (CI jobs and projected token
    files are reused), unlike assertions signed with a key registered in Sigil."""
    app, _ = federated_app(cli, issuer, subject=GITLAB_BRANCH)
    token = issuer.mint(GITLAB_BRANCH, alg="PS256", extra_claims={"project_path": "contoso-group/payments", "ref_type": "branch"})
    first = issued(exchange(sigil, app["appId"], token, api["scope"]))
    second = issued(exchange(sigil, app["appId"], token, api["scope"]))
    for access_token in (first, second):
        check_token(sigil, access_token, api, app)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_every_issuer_algorithm(sigil, cli, issuer, api, alg):
    app, _ = federated_app(cli, issuer, subject=f"{KUBERNETES}-{alg.lower()}")
    check_token(sigil, issued(exchange(sigil, app["appId"], issuer.mint(f"{KUBERNETES}-{alg.lower()}", alg=alg), api["scope"])), api, app)


def test_user_assigned_managed_identity_with_a_fic(sigil, cli, issuer, api):
    mi = cli.json("mi", "create", unique("fed-mi"))
    add_fic(cli, "mi", mi["displayName"], issuer.url, subject=KUBERNETES)
    token = issued(exchange(sigil, mi["appId"], issuer.mint(KUBERNETES), api["scope"]))
    check_token(sigil, token, api, mi)


def test_a_rotated_issuer_key_is_fetched(sigil, cli, issuers, api):
    """A kid Sigil has not seen makes it fetch the JWKS again. Refreshes are rate limited (a
    rotation right after a fetch may wait for the next allowed one, about a minute), so this test
    polls for up to 75 s; the unknown kid must never cost more than a couple of fetches."""
    issuer = issuers()
    app, _ = federated_app(cli, issuer, subject=KUBERNETES)
    issued(exchange(sigil, app["appId"], issuer.mint(KUBERNETES), api["scope"]))
    new_key = issuer.rotate("ES256")
    deadline = time.monotonic() + 75
    while True:
        answer = exchange(sigil, app["appId"], issuer.mint(KUBERNETES, kid=new_key.kid), api["scope"])
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        assert_refused(answer, 700027)
        time.sleep(5)
    check_token(sigil, issued(answer), api, app)
    assert issuer.hits_on(JWKS_PATH) <= 3, f"{issuer.hits_on(JWKS_PATH)} JWKS fetches for one rotation"


def test_sign_in_log_names_the_federated_credential(sigil, cli, issuer, api):
    app, fic = federated_app(cli, issuer, subject=GITHUB_BRANCH)
    issued(exchange(sigil, app["appId"], issuer.mint(GITHUB_BRANCH), api["scope"]))
    succeeded = [e for e in sign_ins(cli, app["appId"]) if e["status"]["succeeded"]]
    assert len(succeeded) == 1, succeeded
    event = succeeded[0]
    assert event["clientCredentialType"] == "federatedIdentityCredential", event
    assert event["federatedCredentialId"] == fic["id"], event
    assert event["federatedTokenIssuer"] == issuer.url, event
    assert event["federatedTokenSubject"] == GITHUB_BRANCH, event


def test_sign_in_log_of_a_refused_federated_sign_in_says_what_was_presented(sigil, cli, issuer, api):
    """An administrator fixing a FIC needs the issuer and subject that did not match."""
    app, _ = federated_app(cli, issuer, subject=GITHUB_BRANCH)
    assert_refused(exchange(sigil, app["appId"], issuer.mint(GITHUB_ENVIRONMENT), api["scope"]), 700213)
    failed = [e for e in sign_ins(cli, app["appId"]) if not e["status"]["succeeded"]]
    assert len(failed) == 1 and failed[0]["status"]["errorCode"] == 700213, failed
    event = failed[0]
    assert event["clientCredentialType"] == "federatedIdentityCredential", event
    assert event["federatedTokenIssuer"] == issuer.url, event
    assert event["federatedTokenSubject"] == GITHUB_ENVIRONMENT, event


# --------------------------------------------------------------------------------------------
# Bad tokens: each a refusal with the right AADSTS code


TARGET_SUBJECT = "repo:contoso/target:ref:refs/heads/main"


@pytest.fixture(scope="module")
def target(cli, issuer, api) -> dict:
    app, _ = federated_app(cli, issuer, subject=TARGET_SUBJECT)
    return app


def present(sigil, target, api, token: str):
    return exchange(sigil, target["appId"], token, api["scope"])


def test_the_target_accepts_a_good_token(sigil, issuer, api, target):
    check_token(sigil, issued(present(sigil, target, api, issuer.mint(TARGET_SUBJECT))), api, target)


def test_key_from_another_issuers_jwks_is_700027(sigil, issuers, issuer, api, target):
    other = issuers()
    forged = issuer.mint(TARGET_SUBJECT, signing_key=other.keys["RS256"])
    assert_refused(present(sigil, target, api, forged), 700027)
    # The right kid, the wrong key: the signature does not verify.
    impostor = SigningKey.generate("RS256", kid=issuer.keys["RS256"].kid)
    assert_refused(present(sigil, target, api, issuer.mint(TARGET_SUBJECT, signing_key=impostor)), 700027)


@pytest.mark.parametrize("times", [
    {"iat": -3600, "exp": -1800},
    {"iat": -7200, "exp": -600},
    {"iat": 3600, "nbf": 3600, "exp": 4200},
    {"iat": 0, "nbf": 1800, "exp": 2400},
], ids=["expired", "expired-10min", "issued-in-the-future", "not-yet-valid"])
def test_token_outside_its_lifetime_is_700024(sigil, issuer, api, target, times):
    now = int(time.time())
    token = issuer.mint(TARGET_SUBJECT, **{k: now + v for k, v in times.items()})
    assert_refused(present(sigil, target, api, token), 700024)


def test_wrong_audience_is_700212(sigil, issuer, api, target):
    for audience in ("api://SomethingElse", "api://azureadtokenexchange", sigil.issuer):
        body = assert_refused(present(sigil, target, api, issuer.mint(TARGET_SUBJECT, aud=audience)), 700212)
        assert "audience" in body["error_description"].lower(), body


@pytest.mark.parametrize("subject", [
    "repo:contoso/target:ref:refs/heads/dev",
    TARGET_SUBJECT.upper(),
    "repo:Contoso/target:ref:refs/heads/main",
    TARGET_SUBJECT + " ",
], ids=["other-branch", "upper-case", "one-letter-case", "trailing-space"])
def test_wrong_subject_is_700213(sigil, issuer, api, target, subject):
    body = assert_refused(present(sigil, target, api, issuer.mint(subject)), 700213)
    assert "subject" in body["error_description"].lower(), body


def test_issuer_without_a_fic_is_700211(sigil, issuers, api, target):
    stranger = issuers()  # trusted, healthy, but the target has no FIC for it
    body = assert_refused(present(sigil, target, api, stranger.mint(TARGET_SUBJECT)), 700211)
    assert "issuer" in body["error_description"].lower(), body


def test_alg_none_and_hmac_with_the_public_key_are_refused(sigil, issuer, api, target):
    for token in (issuer.mint_unsigned(TARGET_SUBJECT), issuer.mint_hmac_with_public_key(TARGET_SUBJECT)):
        assert_refused(present(sigil, target, api, token))


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk"])
def test_key_location_headers_are_never_followed(sigil, issuers, issuer, api, target, header):
    """The attacker publishes its own key (a second, untrusted listener) and points the token at
    it: Sigil must neither use it nor connect to it."""
    attacker = issuers(trusted=False)
    key = attacker.keys["ES256"]
    headers = {"jku": {"jku": attacker.jwks_url}, "x5u": {"x5u": attacker.url + "/cert.pem"},
               "jwk": {"jwk": key.public_jwk()}}[header]
    token = issuer.mint(TARGET_SUBJECT, signing_key=key, headers=headers)
    assert_refused(present(sigil, target, api, token))
    # The same without a kid: nothing but the header says where the key is.
    headerless = issuer.mint(TARGET_SUBJECT, signing_key=key, headers={**headers, "kid": None})
    assert_refused(present(sigil, target, api, headerless))
    time.sleep(0.5)
    assert attacker.connections == 0, f"Sigil connected to the {header} URL {attacker.connections} times"


def test_a_flood_of_unknown_kids_makes_few_jwks_fetches(sigil, cli, issuers, api):
    issuer = issuers()
    app, _ = federated_app(cli, issuer, subject=KUBERNETES)
    issued(exchange(sigil, app["appId"], issuer.mint(KUBERNETES), api["scope"]))   # discovery and keys cached
    issuer.reset_counts()
    stranger = SigningKey.generate("ES256")

    def one(_):
        forged = issuer.mint(KUBERNETES, signing_key=SigningKey("ES256", uuid.uuid4().hex, stranger.private_key))
        return exchange(sigil, app["appId"], forged, api["scope"])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(200)))
    for answer in answers:
        assert_refused(answer, 700027)
    assert issuer.hits_on(JWKS_PATH) <= 2, f"200 unknown kids made {issuer.hits_on(JWKS_PATH)} JWKS fetches"
    assert issuer.hits_on(DISCOVERY_PATH) <= 2, f"and {issuer.hits_on(DISCOVERY_PATH)} discovery fetches"
    # The issuer's own keys still work afterwards.
    issued(exchange(sigil, app["appId"], issuer.mint(KUBERNETES), api["scope"]))


def test_issuer_trust_list_and_untrust(sigil, cli, issuers, api):
    issuer = issuers()
    assert issuer.url in json.dumps(cli.json("issuer", "list")), "a trusted issuer is listed"
    app, _ = federated_app(cli, issuer, subject=KUBERNETES)
    issued(exchange(sigil, app["appId"], issuer.mint(KUBERNETES), api["scope"]))
    cli.run("issuer", "untrust", issuer.url)
    assert issuer.url not in json.dumps(cli.json("issuer", "list"))
    issuer.reset_counts()
    assert_refused(exchange(sigil, app["appId"], issuer.mint(KUBERNETES), api["scope"]))
    assert issuer.connections == 0, "an untrusted issuer was contacted"
    assert "https" in fails(cli, "issuer", "trust", f"http://127.0.0.1:{issuer.port}")


def test_an_untrusted_loopback_issuer_is_never_contacted(sigil, cli, issuers, api):
    untrusted = issuers(trusted=False)
    app = cli.json("app", "create", unique("fed-untrusted"))
    added = add_fic(cli, "app", app["appId"], untrusted.url, subject=KUBERNETES, check=False)
    if added.returncode == 0:
        body = assert_refused(exchange(sigil, app["appId"], untrusted.mint(KUBERNETES), api["scope"]))
        assert "trust" in body["error_description"].lower(), body
    time.sleep(0.5)
    assert untrusted.connections == 0, f"Sigil connected {untrusted.connections} times to an issuer nobody trusted"


# --------------------------------------------------------------------------------------------
# Issuers that misbehave: a bounded, clear refusal, while a healthy issuer keeps working


HOSTILE_CASES = {
    "discovery-slow": (DISCOVERY_PATH, Hostile("slow", seconds=60)),
    "discovery-trickle": (DISCOVERY_PATH, Hostile("trickle", seconds=60)),
    "discovery-huge": (DISCOVERY_PATH, Hostile("huge", size=8 * 1024 * 1024)),
    "discovery-not-json": (DISCOVERY_PATH, Hostile("not_json")),
    "discovery-500": (DISCOVERY_PATH, Hostile("error500")),
    "discovery-redirect-link-local": (DISCOVERY_PATH, Hostile("redirect", location="https://169.254.169.254/x")),
    "discovery-redirect-private": (DISCOVERY_PATH, Hostile("redirect", location="https://10.0.0.1/x")),
    "discovery-redirect-loopback": (DISCOVERY_PATH, Hostile("redirect")),   # to a canary, filled in below
    "discovery-names-another-issuer": (DISCOVERY_PATH, Hostile("other_issuer")),
    "jwks-slow": (JWKS_PATH, Hostile("slow", seconds=60)),
    "jwks-trickle": (JWKS_PATH, Hostile("trickle", seconds=60)),
    "jwks-huge": (JWKS_PATH, Hostile("huge", size=8 * 1024 * 1024)),
    "jwks-not-json": (JWKS_PATH, Hostile("not_json")),
    "jwks-500": (JWKS_PATH, Hostile("error500")),
    "jwks-redirect-link-local": (JWKS_PATH, Hostile("redirect", location="https://169.254.169.254/keys")),
}


@pytest.mark.parametrize("case", list(HOSTILE_CASES))
def test_hostile_issuer_fails_fast_and_alone(sigil, cli, issuers, issuer, api, target, case):
    path, mode = HOSTILE_CASES[case]
    canary = ConnectionCanary()
    try:
        if case == "discovery-redirect-loopback":
            mode = Hostile("redirect", location=canary.url("/.well-known/openid-configuration"))
        if mode.kind == "other_issuer":
            mode = Hostile("other_issuer", issuer_value=issuer.url)   # a real, trusted issuer's name
        hostile = issuers()
        hostile.misbehave(path, mode)
        app, _ = federated_app(cli, hostile, subject=KUBERNETES)
        issued(present(sigil, target, api, issuer.mint(TARGET_SUBJECT)))   # the healthy issuer is warm

        outcome: dict = {}

        def hostile_request():
            started = time.monotonic()
            try:
                outcome["response"] = exchange(sigil, app["appId"], hostile.mint(KUBERNETES), api["scope"], timeout=90)
            except Exception as e:  # noqa: BLE001 - reported below
                outcome["exception"] = e
            outcome["seconds"] = time.monotonic() - started

        worker = threading.Thread(target=hostile_request)
        worker.start()
        time.sleep(1.0)   # the hostile fetch is under way
        latencies = []
        while worker.is_alive() and len(latencies) < 5:
            started = time.monotonic()
            issued(present(sigil, target, api, issuer.mint(TARGET_SUBJECT)))
            latencies.append(time.monotonic() - started)
            time.sleep(0.5)
        worker.join(timeout=90)

        assert "exception" not in outcome, f"the request through the {case} issuer failed at the HTTP level: {outcome['exception']!r}"
        assert outcome["seconds"] < HOSTILE_DEADLINE, f"{case}: the refusal took {outcome['seconds']:.1f}s"
        body = assert_refused(outcome["response"], 700027)   # the issuer's keys could not be obtained
        assert hostile.url in body["error_description"], f"the error should name the issuer: {body['error_description']}"
        assert max(latencies, default=0) < HEALTHY_LATENCY, f"{case}: a healthy issuer's requests took {latencies}"
        assert canary.connections == 0, f"{case}: Sigil followed the redirect to {mode.location}"
    finally:
        canary.stop()


# --------------------------------------------------------------------------------------------
# A managed identity's Sigil token as a FIC (Sigil trusting its own issuer)


EXCHANGE_SCOPE = "api://AzureADTokenExchange/.default"


def test_managed_identity_token_as_a_federated_credential(sigil, cli, api):
    """A user-assigned MI's token for api://AzureADTokenExchange is the client assertion of an app
    whose FIC names Sigil's own issuer and the MI's objectId. The host side is the agent protocol
    spoken directly (ProtocolHost); test_agent.py does the same through the agent."""
    host = cli.json("host", "create", unique("fed-host"))
    mi = cli.json("mi", "create", unique("fed-mi-assertion"))
    cli.run("mi", "assign", mi["appId"], "--host", host["name"])
    agent = ProtocolHost(sigil)
    enrolled = agent.enroll(host["joinToken"])
    assert enrolled.status_code == 201, enrolled.text
    mi_token = issued(agent.token(mi["appId"], EXCHANGE_SCOPE))

    app = cli.json("app", "create", unique("fed-trusts-mi"))
    add_fic(cli, "app", app["appId"], sigil.issuer, subject=mi["objectId"])
    check_token(sigil, issued(exchange(sigil, app["appId"], mi_token, api["scope"])), api, app)


def test_an_ordinary_apps_token_is_not_a_federated_credential(sigil, cli, api, tmp_path):
    """The same FIC shape, but the token belongs to an ordinary app: refused (only managed
    identities' tokens stand in for external ones)."""
    caller = cli.json("app", "create", unique("fed-ordinary"))
    key = ECKey.generate_key("P-256", parameters={"kid": unique("ordinary")})
    jwk_file = tmp_path / "ordinary.jwk.json"
    jwk_file.write_text(json.dumps(key.as_dict(private=False)))
    cli.json("app", "key", "add", caller["appId"], "--jwk", str(jwk_file))
    now = int(time.time())
    assertion = jwt.encode({"iss": caller["appId"], "sub": caller["appId"], "aud": sigil.token_endpoint, "iat": now,
                            "nbf": now, "exp": now + 300, "jti": str(uuid.uuid4())},
                           key.as_pem(private=True), algorithm="ES256", headers={"kid": key.kid})
    answer = exchange(sigil, caller["appId"], assertion, EXCHANGE_SCOPE)
    if answer.status_code != 200:
        assert_refused(answer)   # not even issued: nothing to present
        return
    app_token = answer.json()["access_token"]
    app = cli.json("app", "create", unique("fed-trusts-ordinary"))
    add_fic(cli, "app", app["appId"], sigil.issuer, subject=caller["servicePrincipalId"])
    assert_refused(exchange(sigil, app["appId"], app_token, api["scope"]))

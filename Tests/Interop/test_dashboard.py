"""Issue 12, items 13-15: the dashboard in a real browser. `sigil dashboard` prints the sign-in
link; headless Chromium (Debian's `chromium`, driven by Playwright) opens it and walks every page
by its navigation, saving a screenshot of each. The sign-in chart is checked against the admin
API's sign-in log, every page passes axe-core (labels, contrast and the rest of WCAG 2 A/AA), and
the keyboard reaches every link and control with a visible focus. Screenshots go to
$SIGIL_DASHBOARD_SCREENSHOTS, by default .build/dashboard-screenshots in the repository."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from azure.identity import CertificateCredential, ClientSecretCredential

from conftest import AdminAPI, SigilCli
from helpers import make_certificate
from test_cli import fails

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("SIGIL_DASHBOARD_SCREENSHOTS", REPO / ".build" / "dashboard-screenshots"))
PAGES = ["Overview", "Apps", "Sign-ins", "Audit log", "Risk", "Policies", "Vaults"]

playwright_api = pytest.importorskip("playwright.sync_api")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")


@pytest.fixture(scope="module")
def tenant(start_server, tmp_path_factory):
    """A server with sign-ins of two credential types, a risky app, a vault and a sign-in link."""
    server = start_server(name="dashboard")
    folder = tmp_path_factory.mktemp("dashboard")
    cli = SigilCli(folder / "profile.json", binary=server.binary)
    cli.login(server)
    suffix = uuid.uuid4().hex[:6]
    cli.run("app", "create", f"orders-{suffix}", "--identifier-uri", f"api://orders-{suffix}")
    secret_app = cli.json("app", "create", f"billing-{suffix}")
    secret = cli.json("app", "secret", "add", secret_app["appId"])["secretText"]
    cert_app = cli.json("app", "create", f"ledger-{suffix}")
    cert = make_certificate(folder, f"ledger-{suffix}")
    cli.run("app", "cert", "add", cert_app["appId"], "--cert", str(cert.cert_file))
    scope = f"api://orders-{suffix}/.default"
    # This server's CA for these clients only: the session's shared server is trusted through
    # REQUESTS_CA_BUNDLE, which the tests after this one still need.
    for _ in range(5):
        ClientSecretCredential(server.tenant, secret_app["appId"], secret, authority=server.base_url,
                               disable_instance_discovery=True, connection_verify=server.ca_file).get_token(scope)
    for _ in range(3):
        CertificateCredential(server.tenant, cert_app["appId"], certificate_path=str(cert.combined_file),
                              authority=server.base_url, disable_instance_discovery=True,
                              connection_verify=server.ca_file).get_token(scope)
    detection = cli.json("risk", "confirm-compromised", secret_app["appId"])
    cli.run("vault", "create", f"vault{suffix}")
    return {"server": server, "cli": cli, "secret": secret, "detection": detection, "suffix": suffix}


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def new_page(browser):
    context = browser.new_context(ignore_https_errors=True, java_script_enabled=True, viewport={"width": 1280, "height": 900})
    return context, context.new_page()


def shoot(page, name: str):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in_link(cli: SigilCli) -> str:
    url = cli.run("dashboard").stdout.strip()
    assert url.count("\n") == 0 and "/dashboard/signin?code=" in url, url
    return url


def test_sigil_dashboard_prints_a_link_and_json(tenant):
    cli, server = tenant["cli"], tenant["server"]
    url = sign_in_link(cli)
    assert url.startswith(server.base_url + "/dashboard/signin?code=")
    as_json = cli.json("dashboard", "--json")
    assert set(as_json) == {"url", "expiresDateTime"} and as_json["url"] != url
    expires = dt.datetime.fromisoformat(as_json["expiresDateTime"].replace("Z", "+00:00"))
    assert dt.timedelta(minutes=4) < expires - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(minutes=5)
    # The code is never in the audit log, only that one was minted.
    events = AdminAPI(server).ok("GET", "auditLogs?top=1000")["value"]
    assert any(e["activityDisplayName"] == "dashboard.code.create" for e in events)
    code = url.split("code=")[1]
    assert code not in str(events)


def test_sigil_dashboard_without_a_server_is_one_error_line(tmp_path):
    cli = SigilCli(tmp_path / "missing-profile.json")
    assert fails(cli, "dashboard").startswith("error: ")


def test_a_forged_or_reused_code_gets_an_error_page(tenant, browser):
    context, page = new_page(browser)
    server = tenant["server"]
    forged = page.goto(f"{server.base_url}/dashboard/signin?code={'A' * 43}")
    assert forged.status == 401
    assert "not issued by this server" in page.locator("main").inner_text()
    shoot(page, "error-forged-code")
    url = sign_in_link(tenant["cli"])
    assert page.goto(url).status == 200 and page.url.endswith("/dashboard/")
    second, second_page = new_page(browser)
    assert second_page.goto(url).status == 401
    assert "already used" in second_page.locator("main").inner_text()
    assert second.cookies() == []
    shoot(second_page, "error-reused-code")
    context.close()
    second.close()


def test_every_page_renders_passes_axe_and_hides_secret_values(tenant, browser):
    context, page = new_page(browser)
    page.goto(sign_in_link(tenant["cli"]))
    cookie = next(c for c in context.cookies() if c["name"] == "sigil_dashboard")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/dashboard"
    axe = axe_module.Axe()
    for name in PAGES:
        page.get_by_role("navigation", name="Dashboard").get_by_role("link", name=name, exact=True).click()
        assert page.locator("h1").inner_text() == name
        assert page.locator("[aria-current=page]").inner_text() == name
        html = page.content()
        assert tenant["secret"] not in html and tenant["secret"][:12] not in html
        assert "<script" not in html.lower()
        shoot(page, name.lower().replace(" ", "-"))
        results = axe.run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "best-practice"]}})
        violations = [(v["id"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]]
        assert violations == [], f"{name}: {violations}"
    # An app's page, from the apps list.
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Apps", exact=True).click()
    page.get_by_role("link", name=f"billing-{tenant['suffix']}").click()
    assert page.locator("h1").inner_text() == f"billing-{tenant['suffix']}"
    assert "Client secret" in page.locator("main").inner_text()
    shoot(page, "app")
    assert axe.run(page).response["violations"] == []
    context.close()


def test_the_sign_in_chart_matches_the_sign_in_log(tenant, browser):
    admin = AdminAPI(tenant["server"])  # its token first: reading the log then signs nobody in
    context, page = new_page(browser)
    page.goto(sign_in_link(tenant["cli"]))
    log = admin.ok("GET", "signInLogs?top=1000&result=success")["value"]
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    expected = Counter(e["clientCredentialType"] for e in log if e["createdDateTime"].startswith(today) and e.get("clientCredentialType"))
    assert expected["clientSecret"] >= 5 and expected["certificate"] >= 3
    bars = page.locator("#signins-by-type rect.bar").evaluate_all(
        "rs => rs.map(r => ({series: r.dataset.series, day: r.dataset.category, value: +r.dataset.value, height: +r.getAttribute('height')}))")
    drawn = Counter()
    for bar in bars:
        if bar["day"] == today:
            drawn[bar["series"]] += bar["value"]
    assert drawn == expected
    # Heights are proportional to the values: one scale for every bar.
    scales = {round(b["height"] / b["value"], 6) for b in bars}
    assert len(scales) == 1, scales
    axis_max = int(page.locator("#signins-by-type").get_attribute("data-axis-maximum"))
    assert axis_max >= max(sum(b["value"] for b in bars if b["day"] == day) for day in {b["day"] for b in bars})
    # The table beside the chart says the same.
    row = page.locator("#signins-by-type table tbody tr", has=page.locator(f"th:text-is('{today}')"))
    assert int(row.locator("td").last.inner_text()) == sum(expected.values())
    assert page.locator("#signins-by-type svg > title").text_content() == "Sign-ins by credential type"

    # The secretless share chart against `sigil report secretless`'s admin route, day by day.
    report = admin.ok("GET", "reports/secretless?days=14")
    shares = page.locator("#secretless-share rect.bar").evaluate_all(
        "rs => rs.map(r => ({series: r.dataset.series, day: r.dataset.category, value: +r.dataset.value}))")
    drawn = {(b["day"], b["series"]): b["value"] for b in shares}
    reported = {}
    for day in report["daily"]:
        reported[(day["date"], "secretless")] = int(day["secretlessSignIns"])
        reported[(day["date"], "secret")] = int(day["signIns"]) - int(day["secretlessSignIns"])
    assert drawn == {k: v for k, v in reported.items() if v > 0}
    assert drawn[(today, "secret")] >= 5 and drawn[(today, "secretless")] >= 3
    share = page.locator("#sign-in-share").inner_text()
    assert share == f"{report['signInShare'] * 100:.1f} %", (share, report["signInShare"])
    shoot(page, "overview-chart")

    # The assessment table against `sigil assess --json`, item by item.
    assessed = tenant["cli"].json("assess")
    page.reload()
    assert page.locator("#assessment-score").inner_text() == str(assessed["score"])
    rows = page.locator("section[aria-labelledby=assessment-heading] tbody tr")
    assert rows.count() == len(assessed["items"]) == 7
    for index, item in enumerate(assessed["items"]):
        row = rows.nth(index)
        assert row.locator("th").inner_text() == item["title"]
        assert row.locator("td").nth(1).inner_text() == item["evidence"]
        assert row.locator("td").nth(2).inner_text() == (item["fix"] or "")
    context.close()


def test_keyboard_reaches_every_link_and_control_with_visible_focus(tenant, browser):
    context, page = new_page(browser)
    page.goto(sign_in_link(tenant["cli"]))
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Sign-ins", exact=True).click()
    focusable = page.locator("a[href], button, input:not([type=hidden]), select").count()
    seen = []
    for _ in range(focusable + 5):
        page.keyboard.press("Tab")
        state = page.evaluate("""() => {
            const e = document.activeElement, s = getComputedStyle(e);
            return {tag: e.tagName, text: (e.innerText || e.name || e.id || '').trim(),
                    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0};
        }""")
        if state["tag"] == "BODY":
            break
        seen.append(state)
    assert seen[0]["text"] == "Skip to content"
    assert len(seen) >= focusable, (len(seen), focusable, seen)
    assert all(s["outline"] for s in seen), [s for s in seen if not s["outline"]]
    # The skip link moves focus past the navigation into the main content.
    page.goto(page.url)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    shoot(page, "keyboard-focus")
    context.close()


class _AttackerSite(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self):
        body = (f'<form method="post" action="{self.target}"><input type="hidden" name="csrf" value="guess">'
                '<button type="submit">win a prize</button></form>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_cross_site_post_changes_nothing_and_the_dashboard_dismisses(tenant, browser):
    server = tenant["server"]
    admin = AdminAPI(server)
    detection_id = tenant["detection"]["id"]
    context, page = new_page(browser)
    page.goto(sign_in_link(tenant["cli"]))
    _AttackerSite.target = f"{server.base_url}/dashboard/risk/{detection_id}/dismiss"
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), _AttackerSite)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        evil = context.new_page()
        evil.goto(f"http://127.0.0.1:{attacker.server_address[1]}/")
        with evil.expect_navigation():
            evil.get_by_role("button", name="win a prize").click()
        assert evil.locator("main").count() == 1
        refused = evil.locator("main").inner_text()
        assert "not signed in" in refused or "another site" in refused, refused
        shoot(evil, "error-cross-site-post")
    finally:
        attacker.shutdown()
    assert admin.ok("GET", f"riskDetections/{detection_id}")["riskState"] == "confirmedCompromised"

    page.goto(f"{server.base_url}/dashboard/risk")
    with page.expect_navigation():
        page.locator(f"#detection-{detection_id}").get_by_role("button", name="Dismiss").click()
    assert page.url == f"{server.base_url}/dashboard/risk", page.locator("main").inner_text()
    assert admin.ok("GET", f"riskDetections/{detection_id}")["riskState"] == "dismissed"
    assert page.locator(f"#detection-{detection_id}").get_by_role("button", name="Dismiss").count() == 0
    shoot(page, "risk-dismissed")

    page.get_by_role("button", name="Sign out").click()
    assert "session has ended" in page.locator("main").inner_text()
    assert page.goto(f"{server.base_url}/dashboard/").status == 401
    context.close()


def test_finish_before_the_soak_is_a_clear_error_page_and_changes_nothing(tenant, browser, tmp_path):
    cli, suffix = tenant["cli"], tenant["suffix"]
    name = f"billing-{suffix}"
    replacement = make_certificate(tmp_path, f"billing-new-{suffix}")
    cli.json("migrate", "apply", name, "--cert", str(replacement.cert_file))
    context, page = new_page(browser)
    page.goto(sign_in_link(cli))
    page.goto(f"{tenant['server'].base_url}/dashboard/apps/{cli.json('app', 'show', name)['appId']}")
    assert page.locator("#migration-state").inner_text() == "applied"
    assert axe_module.Axe().run(page).response["violations"] == []
    shoot(page, "app-migration")
    assert page.get_by_role("button", name="Roll back: enable the secrets").count() == 0
    with page.expect_navigation():
        page.get_by_role("button", name="Finish: disable the secrets").click()
    assert "Not finished" in page.locator("main").inner_text()
    shoot(page, "error-finish-before-soak")
    assert cli.json("migrate", "status", name)["state"] == "applied"
    context.close()

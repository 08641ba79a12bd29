"""Issue 12, the README's curve: a small tenant walked off its client secrets over five days, from
100 % secret sign-ins to 0 %. Every day before today is a real run of the server, the CLI and the
azure-identity workloads under libfaketime (Debian's `faketime`), all set back to noon UTC of
that day; today runs on the real clock. Each worker signs in with its secret until `sigil migrate
apply` gives it a certificate, and `sigil migrate finish` disables the secret the next day. The
dashboard's secretless-share chart is then checked day by day against the sign-ins made, and its
screenshot is saved as secretless-curve.png, the picture in the README's walk-through."""

from __future__ import annotations

import datetime as dt
import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SigilCli
from helpers import make_certificate
from test_dashboard import SCREENSHOTS, browser, new_page, sign_in_link  # noqa: F401 (browser: the fixture)

LIBFAKETIME = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), None)
WORKERS = ["billing", "ledger", "reports"]
SIGN_INS = 4  # per worker and day
# Days ago → the day each worker moves to its certificate (its sign-ins that day use it).
MOVES = {3: "billing", 2: "ledger", 1: "reports"}
FIRST_DAY = 4

# Each sign-in builds a fresh credential, so each is a real token request rather than a cached token.
CLIENT = """
import sys
from azure.identity import CertificateCredential, ClientSecretCredential
tenant, client, authority, scope, kind, value, count = sys.argv[1:8]
for _ in range(int(count)):
    make = CertificateCredential if kind == "certificate" else ClientSecretCredential
    credential = make(tenant, client, value, authority=authority, disable_instance_discovery=True)
    credential.get_token(scope)
    credential.close()
"""

playwright_api = pytest.importorskip("playwright.sync_api")


def clocks() -> dict[int, dict[str, str]]:
    """Per day, the environment that sets a process's clock back to noon UTC of that day, as of now
    (nothing for today). One offset a day keeps the server, the CLI and the workloads agreeing.
    libfaketime sets FAKETIME_SHARED when it finds it unset, which moves `environ`, and Swift's
    runtime finds the arguments beside the original one: naming shared state that does not exist
    keeps it from doing so, and each process keeps its own clock at the offset."""
    assert LIBFAKETIME, "libfaketime is missing: apt-get install faketime (scripts/test installs it)"
    now = dt.datetime.now(dt.timezone.utc)
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    envs = {0: {}}
    for days_ago in range(1, FIRST_DAY + 1):
        offset = int((noon - dt.timedelta(days=days_ago) - now).total_seconds())
        envs[days_ago] = {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": f"{offset:+d}", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                          "FAKETIME_SHARED": "/sigil-test-none /sigil-test-none"}
    return envs


def day_label(days_ago: int) -> str:
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)).strftime("%Y-%m-%d")


def test_a_small_tenant_goes_from_all_secret_sign_ins_to_none_in_five_days(start_server, tmp_path, browser):
    envs = clocks()
    server = start_server(name="curve", env=envs[FIRST_DAY], allow_secrets=False)
    scope = "api://curve-orders/.default"
    apps: dict[str, dict] = {}
    certificates = {}
    for days_ago in range(FIRST_DAY, -1, -1):
        env = envs[days_ago]
        if days_ago != FIRST_DAY:
            server.stop()
            server.extra_env = env
            server.start()
        cli = SigilCli(tmp_path / "profile.json", binary=server.binary, env=env)
        cli.login(server)
        if days_ago == FIRST_DAY:
            cli.run("policy", "app", "set", "--allow-secrets")  # the legacy opt-out, as in the README
            cli.run("app", "create", "orders-api", "--identifier-uri", "api://curve-orders")
            for name in WORKERS:
                apps[name] = cli.json("app", "create", name)
                apps[name]["secret"] = cli.json("app", "secret", "add", name)["secretText"]
                certificates[name] = make_certificate(tmp_path, name, backdate=dt.timedelta(days=FIRST_DAY + 1))
        if days_ago in MOVES:
            name = MOVES[days_ago]
            plan = cli.json("migrate", "plan", name)
            assert [entry["proposal"]["kind"] for entry in plan["secrets"]] == ["certificate"], plan
            cli.run("migrate", "apply", name, "--cert", str(certificates[name].cert_file))
        moved = {name for moved_on, name in MOVES.items() if moved_on >= days_ago}
        for name in WORKERS:
            kind, value = ("certificate", str(certificates[name].combined_file)) if name in moved else ("secret", apps[name]["secret"])
            subprocess.run([sys.executable, "-c", CLIENT, server.tenant, apps[name]["appId"], server.base_url, scope, kind, value,
                            str(SIGN_INS)], check=True, timeout=120,
                           env={**os.environ, **env, "REQUESTS_CA_BUNDLE": server.ca_file})
        # Yesterday's move is finished: its secret has been unused for a day, and the certificate
        # worked today.
        for moved_on, name in MOVES.items():
            if moved_on == days_ago + 1:
                assert cli.json("migrate", "finish", name, "--soak", "PT12H")["state"] == "finished"

    # Today: every worker is on its certificate, and the secrets are gone.
    cli.run("policy", "app", "set", "--block-secrets")
    for name in WORKERS:
        cli.run("migrate", "finish", name, "--delete")
    assert all(item["credentialType"] != "clientSecret" for item in cli.json("report", "inventory")["value"])
    assert {row["stage"] for row in cli.json("report", "stages", "--days", "1")["value"]} == {"secretless"}

    # Secret sign-ins are the workers' alone; secretless ones also count the admin CLI's own
    # (it signs in with a key), so they are at least the workers'.
    report = cli.json("report", "secretless", "--days", str(FIRST_DAY + 1))
    daily = {d["date"]: d for d in report["daily"]}
    assert sorted(daily) == [day_label(days_ago) for days_ago in range(FIRST_DAY, -1, -1)]
    for days_ago in range(FIRST_DAY, -1, -1):
        day = daily[day_label(days_ago)]
        moved = sum(1 for moved_on in MOVES if moved_on >= days_ago)
        assert day["signIns"] - day["secretlessSignIns"] == (len(WORKERS) - moved) * SIGN_INS, day
        assert day["secretlessSignIns"] >= moved * SIGN_INS, day
    assert daily[day_label(FIRST_DAY)]["signInShare"] < 0.1 and daily[day_label(1)]["signInShare"] == 1, report
    assert daily[day_label(0)]["signInShare"] == 1, report

    # The dashboard draws the same days; its chart is the README's picture.
    context, page = new_page(browser)
    page.goto(sign_in_link(cli))
    bars = page.locator("#secretless-share rect.bar").evaluate_all(
        "rs => rs.map(r => ({series: r.dataset.series, day: r.dataset.category, value: +r.dataset.value}))")
    drawn = {(b["day"], b["series"]): b["value"] for b in bars}
    for label, day in daily.items():
        secretless = day["secretlessSignIns"]
        assert drawn.get((label, "secretless"), 0) == secretless and drawn.get((label, "secret"), 0) == day["signIns"] - secretless, (label, drawn)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # From the heading to the legend: the numbers table below them is in the report above.
    top = page.locator("#secretless-heading").bounding_box()
    boxes = [page.locator(selector).bounding_box() for selector in ("#secretless-share > svg", "#secretless-share .legend")]
    bottom = max(box["y"] + box["height"] for box in boxes)
    page.screenshot(path=str(SCREENSHOTS / "secretless-curve.png"), full_page=True, clip={
        "x": top["x"] - 8, "y": top["y"] - 8, "width": 880, "height": bottom - top["y"] + 16})
    context.close()

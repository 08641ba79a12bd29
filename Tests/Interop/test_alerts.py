"""Alert webhooks (issue 12, item 10), driven as an operator would: `sigil alert add` points the
tenant's alerts at a small HTTP receiver that checks every delivery's HMAC signature as
docs/alerts.md tells receivers to, then a secret is added to the secretless tenant, msal signs in
with a wrong client secret until the app's spike threshold is reached, a leak is reported the way
a scanner reports one, and a secret that expires soon is found by the scan. A second receiver
fails until it is fixed, and its dead letters are sent again with `sigil alert dead-letters
--redeliver`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msal

from conftest import AdminAPI, SigilCli
from helpers import verify_webhook as verify, wait_for, well_formed_wrong_secret

FLAGS = ["--vault-event-poll", "PT0.2S", "--vault-event-retry", "PT0.2S", "--vault-event-attempts", "2", "--alert-scan", "PT1S"]


class Receiver:
    """An alert webhook on loopback: keeps every alert whose signature verifies, answers `status`."""

    def __init__(self):
        self.keys: dict[str, str] = {}  # path → signing key
        self.status = 200
        self.alerts: dict[str, list[dict]] = {}
        self.refused = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    key = receiver.keys.get(self.path, "")
                    if not verify(key, self.headers.get("X-Sigil-Signature"), body):
                        receiver.refused += 1
                        self.send_response(401)
                        self.end_headers()
                        return
                    status = receiver.status if self.path == "/flaky" else 200
                    if status == 200:
                        alert = json.loads(body)
                        assert self.headers["X-Sigil-Alert-Type"] == alert["type"]
                        receiver.alerts.setdefault(self.path, []).append(alert)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def of(self, path: str, kind: str) -> list[dict]:
        with self.lock:
            return [a for a in self.alerts.get(path, []) if a["type"] == kind]

    def stop(self):
        self.server.shutdown()


def test_bad_subscriptions_get_one_line_errors_and_change_nothing(start_server, tmp_path):
    server = start_server(name="alerts-guard")
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    for args, says in [
        (["--url", "http://alerts.example.com/hook"], "must be https://"),
        (["--url", "https://127.0.0.1:9/hook"], "allowPrivateNetwork"),
        (["--url", "https://127.0.0.1:9/hook", "--allow-private-network", "--kind", "everything"], "unknown alert kind 'everything'"),
        (["--url", "https://127.0.0.1:9/hook", "--allow-private-network", "--spike-app", "0"], "spikeApp must be a whole number from 1"),
        (["--url", "https://127.0.0.1:9/hook", "--allow-private-network", "--spike-window", "P2D"], "PT1S to P1D"),
    ]:
        r = cli.run("alert", "add", *args, check=False)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], (args, r.stderr)
    assert cli.json("alert", "list") == {"value": []}
    r = cli.run("alert", "remove", "no-such-subscription", check=False)
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "sigil alert list" in r.stderr, r.stderr


def test_an_operator_receives_each_alert_signed_once(start_server, tmp_path, monkeypatch):
    server = start_server(name="alerts", args=FLAGS)
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    receiver = Receiver()
    try:
        added = cli.json("alert", "add", "--url", receiver.url("/hook"), "--allow-private-network", "--spike-app", "3",
                         "--spike-tenant", "1000", "--spike-window", "P1D", "--expiring-within", "P30D")
        assert added["secret"].startswith("sgs_") and added["kinds"] == sorted(added["kinds"]) and len(added["kinds"]) == 5
        receiver.keys["/hook"] = added["secret"]
        flaky = cli.json("alert", "add", "--url", receiver.url("/flaky"), "--allow-private-network", "--kind", "secretAdded")
        receiver.keys["/flaky"] = flaky["secret"]
        receiver.status = 500
        listed = cli.json("alert", "list")["value"]
        assert [s["id"] for s in listed] == [added["id"], flaky["id"]] and all("secret" not in s for s in listed)
        table = cli.run("alert", "list").stdout
        assert added["id"] in table and "3/app, 1000/tenant per P1D" in table and added["secret"] not in table

        # The tenant had no secret: the first one is news, the second is not.
        cli.run("app", "create", "orders")
        cli.run("app", "create", "billing")
        first = cli.json("app", "secret", "add", "orders", "--lifetime", "P10D")
        cli.json("app", "secret", "add", "billing", "--lifetime", "P90D")
        wait_for(lambda: receiver.of("/hook", "secretAdded"), what="secretAdded")
        [secret_added] = receiver.of("/hook", "secretAdded")
        assert secret_added["data"]["keyId"] == first["keyId"] and first["secretText"] not in json.dumps(secret_added)

        # The scan finds the secret that ends within 30 days, once.
        wait_for(lambda: receiver.of("/hook", "credentialExpiring"), what="credentialExpiring")

        # msal with a wrong client secret, three times: the app's spike.
        app_id = cli.json("app", "show", "orders")["appId"]
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)  # msal uses requests
        wrong = msal.ConfidentialClientApplication(app_id, client_credential=well_formed_wrong_secret(), authority=server.authority,
                                                   instance_discovery=False)
        for _ in range(3):
            result = wrong.acquire_token_for_client(scopes=[f"{app_id}/.default"])
            assert result.get("error") == "invalid_client", result
        wait_for(lambda: receiver.of("/hook", "signInSpike"), what="signInSpike")
        [spike] = receiver.of("/hook", "signInSpike")
        assert spike["data"]["scope"] == "app" and spike["data"]["appId"] == app_id and spike["data"]["failedSignIns"] >= 3

        # A scanner reports the first secret leaked.
        sha256 = hashlib.sha256(first["secretText"].encode()).hexdigest()
        AdminAPI(server).ok("POST", "leakedCredentials", {"sha256": [sha256], "source": "sigil scan --git /srv/orders"})
        wait_for(lambda: receiver.of("/hook", "leakReport"), what="leakReport")
        [leak] = receiver.of("/hook", "leakReport")
        assert leak["data"]["keyId"] == first["keyId"] and leak["data"]["hint"] == first["secretText"][4:7]
        assert leak["data"]["source"] == "sigil scan --git /srv/orders" and leak["tenantId"] == server.tenant

        time.sleep(2)  # two more scans: nothing is announced twice
        for kind in ["secretAdded", "credentialExpiring", "signInSpike", "leakReport"]:
            assert len(receiver.of("/hook", kind)) == 1, (kind, receiver.alerts)
        assert receiver.refused == 0

        # The flaky receiver's delivery was dead-lettered after two attempts; fixed, it is sent again.
        wait_for(lambda: cli.json("alert", "dead-letters", flaky["id"])["value"], what="a dead letter")
        [dead] = cli.json("alert", "dead-letters", flaky["id"])["value"]
        assert dead["type"] == "secretAdded" and dead["attempts"] == 2 and dead["lastError"] == "HTTP 500"
        assert dead["lastError"] in cli.run("alert", "dead-letters", flaky["id"]).stdout
        receiver.status = 200
        queued = cli.json("alert", "dead-letters", flaky["id"], "--redeliver")["value"]
        assert [q["state"] for q in queued] == ["pending"]
        wait_for(lambda: receiver.of("/flaky", "secretAdded"), what="the redelivered alert")
        assert cli.json("alert", "dead-letters", flaky["id"]) == {"value": []}

        for subscription in [added, flaky]:
            assert cli.run("alert", "remove", subscription["id"]).stdout.strip() == f"Removed alert subscription {subscription['id']}."
        assert cli.json("alert", "list") == {"value": []}
    finally:
        receiver.stop()

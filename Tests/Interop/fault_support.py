"""The load a fault is injected under (token requests and app creations from several threads, every
outcome kept) and the checks that follow it: what was acknowledged is still there."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

from conftest import AdminAPI


@dataclass
class Outcome:
    at: float  # time.monotonic()
    status: int | None  # None: no HTTP answer (connection refused or cut)
    retry_after: str | None = None
    detail: str = ""


@dataclass
class Load:
    """Token requests (each with its own `client-request-id`) and `POST /admin/v1/applications`
    from threads until `stop()`. `base_url` is where they go: one server, or nginx in front of
    several."""

    base_url: str
    tenant: str
    ca_file: str
    form: dict
    admin: AdminAPI
    token_threads: int = 3
    outcomes: list[Outcome] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # client-request-ids answered 200
    created: list[dict] = field(default_factory=list)  # applications answered 201
    writes: list[Outcome] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._tokens, daemon=True) for _ in range(self.token_threads)]
        self._threads.append(threading.Thread(target=self._apps, daemon=True))

    def start(self) -> "Load":
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in self._threads), "a load thread hung"

    def _tokens(self):
        session = requests.Session()
        url = f"{self.base_url}/{self.tenant}/oauth2/v2.0/token"
        while not self._stop.is_set():
            correlation = str(uuid.uuid4())
            outcome = self._call(session, "POST", url, data=self.form, headers={"client-request-id": correlation})
            with self._lock:
                self.outcomes.append(outcome)
                if outcome.status == 200:
                    self.issued.append(correlation)

    def _apps(self):
        session = requests.Session()
        url = f"{self.base_url}/admin/v1/applications"
        while not self._stop.is_set():
            name = f"fault-{uuid.uuid4().hex[:12]}"
            outcome = self._call(session, "POST", url, json={"displayName": name},
                                 headers={"Authorization": f"Bearer {self.admin.token}"})
            with self._lock:
                self.writes.append(outcome)
                if outcome.status == 201:
                    self.created.append({"displayName": name, "objectId": outcome.detail})
            if outcome.status != 201:
                time.sleep(0.05)

    def _call(self, session: requests.Session, method: str, url: str, **kwargs) -> Outcome:
        try:
            r = session.request(method, url, verify=self.ca_file, timeout=30, **kwargs)
        except requests.RequestException as e:
            session.close()
            return Outcome(time.monotonic(), None, detail=type(e).__name__)
        detail = r.json().get("objectId", "") if r.status_code == 201 else r.text[:300]
        return Outcome(time.monotonic(), r.status_code, r.headers.get("Retry-After"), detail)

    def statuses(self, since: float = 0, until: float = float("inf")) -> dict:
        """How many answers of each status (None: no answer) tokens and writes got in a window."""
        counts: dict = {}
        for o in self.outcomes + self.writes:
            if since <= o.at < until:
                counts[o.status] = counts.get(o.status, 0) + 1
        return counts

    def wait_for_tokens(self, count: int, timeout: float = 60):
        """Until `count` more tokens than now have been issued."""
        target = len(self.issued) + count
        deadline = time.monotonic() + timeout
        while len(self.issued) < target:
            assert time.monotonic() < deadline, f"no {count} tokens within {timeout}s: {self.statuses(time.monotonic() - timeout)}"
            time.sleep(0.05)


def sign_in_correlation_ids(admin: AdminAPI, app_id: str) -> set[str]:
    """Every sign-in of `app_id` in the log, paged newest first with `until` (1,000 a page)."""
    seen: dict[str, str] = {}
    until = None
    while True:
        query = f"signInLogs?appId={app_id}&top=1000" + (f"&until={until}" if until else "")
        r = admin.call("GET", query)
        assert r.status_code == 200, f"{query}: {r.status_code} {r.text}"
        page = r.json()["value"]
        new = [e for e in page if e["id"] not in seen]
        for e in new:
            seen[e["id"]] = e["correlationId"]
        if not new or len(page) < 1000:
            return set(seen.values())
        # The oldest time on the page again (inclusive of its millisecond, so none is skipped).
        oldest = min(e["createdDateTime"] for e in page)
        until = requests.utils.quote(increment_millisecond(oldest), safe="")


def increment_millisecond(timestamp: str) -> str:
    import datetime as dt
    moment = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")) + dt.timedelta(milliseconds=1)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def missing_apps(admin: AdminAPI, created: list[dict]) -> list[str]:
    """The acknowledged applications that are not there."""
    names = set()
    for app in created:
        r = admin.call("GET", f"applications/{app['objectId']}")
        if r.status_code != 200:
            names.add(f"{app['displayName']} ({app['objectId']}): {r.status_code}")
    return sorted(names)


def sqlite_integrity(data_dir) -> tuple[str, list]:
    """`PRAGMA integrity_check` and `foreign_key_check` of the store in `data_dir`, read-only."""
    db = sqlite3.connect(f"file:{data_dir}/sigil.sqlite?mode=ro", uri=True)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        foreign = db.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        db.close()
    return integrity, foreign

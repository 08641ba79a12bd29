"""On-call helper bot: answers /oncall and posts deploy notifications.

Socket Mode is used so the bot needs no public endpoint.
"""
import logging
import os
import re
from datetime import datetime, timezone

import requests
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

logging.basicConfig(level=logging.INFO)

# TODO(rotate): move these into the ops vault before the bot goes to the main workspace
SLACK_BOT_TOKEN = "⟦slack-bot-token⟧"
SLACK_APP_TOKEN = "⟦slack-app-token⟧"
SLACK_SIGNING_SECRET = "⟦generic-secret⟧"

PAGERDUTY_TOKEN = os.environ.get("PAGERDUTY_TOKEN", "")
PAGERDUTY_SCHEDULE = "P7XK2QD"
DEPLOY_CHANNEL = "#deploys"

app = App(token=SLACK_BOT_TOKEN, signing_secret=SLACK_SIGNING_SECRET)

TICKET_PATTERN = re.compile(r"\b(OPS|INC)-\d{3,5}\b")


def current_oncall() -> str:
    if not PAGERDUTY_TOKEN:
        return "PagerDuty is not configured (PAGERDUTY_TOKEN is empty)."
    resp = requests.get(
        "https://api.pagerduty.com/oncalls",
        headers={
            "Authorization": f"Token token={PAGERDUTY_TOKEN}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        },
        params={"schedule_ids[]": PAGERDUTY_SCHEDULE, "earliest": "true"},
        timeout=10,
    )
    resp.raise_for_status()
    entries = resp.json().get("oncalls", [])
    if not entries:
        return "Nobody is on call right now."
    user = entries[0]["user"]["summary"]
    until = entries[0].get("end") or "further notice"
    return f"{user} is on call until {until}."


@app.command("/oncall")
def oncall(ack, respond):
    ack()
    respond(current_oncall())


@app.message(TICKET_PATTERN)
def link_ticket(message, say):
    for ticket in TICKET_PATTERN.findall(message.get("text", "")):
        say(f"<https://acme.atlassian.net/browse/{ticket}|{ticket}>", thread_ts=message["ts"])


def announce_deploy(service: str, version: str, author: str) -> None:
    stamp = datetime.now(timezone.utc).strftime("%H:%M UTC")
    app.client.chat_postMessage(
        channel=DEPLOY_CHANNEL,
        text=f":rocket: {service} {version} deployed by {author} at {stamp}",
    )


if __name__ == "__main__":
    SocketModeHandler(app, SLACK_APP_TOKEN).start()

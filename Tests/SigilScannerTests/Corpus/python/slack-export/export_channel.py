#!/usr/bin/env python3
"""Export a Slack channel's history (including threads) to JSON lines for legal hold.

Needs a *user* token with channels:history, groups:history and users:read, because bot tokens
cannot read channels the bot is not a member of.
"""
import argparse
import json
import sys
import time
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

# Token of the "legal-export" Slack user (see LEGAL-31). Revoke after the export is done.
SLACK_USER_TOKEN = "⟦slack-user-token⟧"
PAGE_SIZE = 200


def with_backoff(call, **kwargs):
    while True:
        try:
            return call(**kwargs)
        except SlackApiError as err:
            if err.response.status_code == 429:
                time.sleep(int(err.response.headers.get("Retry-After", "5")))
                continue
            raise


def export(client: WebClient, channel: str, out: Path, oldest: float) -> int:
    count = 0
    cursor = None
    with out.open("w", encoding="utf-8") as fh:
        while True:
            page = with_backoff(client.conversations_history, channel=channel, limit=PAGE_SIZE, cursor=cursor, oldest=oldest)
            for message in page["messages"]:
                fh.write(json.dumps(message, ensure_ascii=False) + "\n")
                count += 1
                if message.get("reply_count"):
                    replies = with_backoff(client.conversations_replies, channel=channel, ts=message["ts"], limit=PAGE_SIZE)
                    for reply in replies["messages"][1:]:
                        fh.write(json.dumps(reply, ensure_ascii=False) + "\n")
                        count += 1
            cursor = page.get("response_metadata", {}).get("next_cursor")
            if not cursor:
                return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("channel", help="channel ID, e.g. C04ABCDEF12")
    parser.add_argument("--since", type=float, default=0.0, help="unix timestamp")
    parser.add_argument("--out", type=Path, default=Path("export.jsonl"))
    args = parser.parse_args()

    client = WebClient(token=SLACK_USER_TOKEN)
    auth = client.auth_test()
    print(f"exporting as {auth['user']} in {auth['team']}", file=sys.stderr)
    n = export(client, args.channel, args.out, args.since)
    print(f"wrote {n} messages to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

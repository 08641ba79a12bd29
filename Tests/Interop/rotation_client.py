"""A workload that knows its client secret only from its environment (put there by `sigil run`):
it asks for a token every second for a while with msal, each time as a fresh client (no token
cache), and prints one JSON line per request. Exit 0 when every request got a token, 3 when any
was refused. Used by test_vault_rotation.py, which launches it again through `sigil run` at each
renewal, as a service re-reading its configuration would."""

import json
import os
import sys
import time

import msal


def main() -> int:
    client_id, authority, scope, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    secret = os.environ["CLIENT_SECRET"]
    refused = 0
    deadline = time.monotonic() + seconds
    while True:
        app = msal.ConfidentialClientApplication(client_id, client_credential=secret, authority=authority, instance_discovery=False)
        result = app.acquire_token_for_client(scopes=[scope])
        ok = "access_token" in result
        refused += 0 if ok else 1
        print(json.dumps({"ok": ok, "error": result.get("error"), "hint": secret[4:7], "at": time.time()}), flush=True)
        if time.monotonic() >= deadline:
            return 0 if refused == 0 else 3
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())

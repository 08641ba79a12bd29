"""A workload in the middle of a migration off its secret: every second it reads its
configuration file (JSON: {"secret": ...} or {"certificate": PATH}), builds a fresh azure-identity
credential from it (so each second is a real token request, not a cached token), gets a token and
prints one JSON line. It runs until the file named by its last argument exists. Exit 0 when every
request got a token, 3 when any was refused. Used by test_migration.py, which switches the
configuration from the secret to the replacement while the loop runs."""

import json
import os
import sys
import time

from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientSecretCredential


def main() -> int:
    tenant, client_id, authority, scope, config, stop = sys.argv[1:7]
    refused = 0
    while not os.path.exists(stop):
        settings = json.loads(open(config).read())
        if "certificate" in settings:
            credential, using = CertificateCredential(tenant, client_id, settings["certificate"], authority=authority,
                                                      disable_instance_discovery=True), "certificate"
        else:
            credential, using = ClientSecretCredential(tenant, client_id, settings["secret"], authority=authority,
                                                       disable_instance_discovery=True), "secret"
        try:
            credential.get_token(scope)
            ok, error = True, None
        except ClientAuthenticationError as e:
            ok, error = False, str(e).splitlines()[0][:300]
        finally:
            credential.close()
        refused += 0 if ok else 1
        print(json.dumps({"ok": ok, "using": using, "error": error, "at": time.time()}), flush=True)
        time.sleep(1)
    return 0 if refused == 0 else 3


if __name__ == "__main__":
    sys.exit(main())

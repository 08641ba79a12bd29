"""Creates COUNT applications through the admin API with 8 keep-alive connections (stdlib only).

usage: populate.py BASE_URL CA_FILE TOKEN COUNT
"""
import http.client
import json
import ssl
import sys
import threading
from urllib.parse import urlparse

base, ca, token, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
url = urlparse(base)
context = ssl.create_default_context(cafile=ca)
failures = []


def worker(start: int) -> None:
    connection = http.client.HTTPSConnection(url.hostname, url.port, context=context)
    for index in range(start, count, 8):
        body = json.dumps({"displayName": f"bench-app-{index}"})
        connection.request("POST", "/admin/v1/applications", body=body,
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 201:
            failures.append(response.status)


threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
if failures:
    sys.exit(f"{len(failures)} creations failed, e.g. HTTP {failures[0]}")

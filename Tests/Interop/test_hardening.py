"""What a hostile or careless client does to the listener, and what the server's TLS offers.

Each test starts a server with short limits, misbehaves on raw sockets, and checks that the
connection is cut off within its limit while a well-behaved client keeps being served."""

import os
import socket
import ssl
import stat
import subprocess
import threading
import time

import pytest
import requests

from conftest import SigilCli

LIMITS = ["--handshake-timeout", "PT1S", "--header-timeout", "PT1S", "--body-timeout", "PT1S",
          "--idle-timeout", "PT2S", "--max-connections", "8"]
SLACK = 1.5  # seconds a cut-off may come late on a busy machine


@pytest.fixture(scope="module")
def guarded(start_server):
    return start_server(name="guarded", args=LIMITS)


def tls_context(server, strict: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=server.ca_file)
    if strict:
        context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


def connect(server, handshake: bool = True):
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return tls_context(server).wrap_socket(raw, server_hostname="127.0.0.1") if handshake else raw


def seconds_until_closed(sock, limit: float) -> float:
    """Reads until the server closes; fails if it is still open after limit + SLACK."""
    sock.settimeout(limit + SLACK)
    start = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, ssl.SSLError):
        pass
    except socket.timeout:
        pytest.fail(f"the connection was still open {limit + SLACK:.1f}s later")
    return time.monotonic() - start


def read_response(sock) -> bytes:
    data = b""
    sock.settimeout(10)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def read_one_response(sock) -> bytes:
    """One response on a kept-alive connection: the head, then Content-Length bytes."""
    data = b""
    sock.settimeout(10)
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def healthy(server) -> bool:
    return requests.get(f"{server.base_url}/healthz", verify=server.ca_file, timeout=5).status_code == 200


@pytest.mark.parametrize("misbehaviour,opening,limit", [
    ("stalled handshake", None, 1),
    ("idle after the handshake", b"", 2),
    ("headers one line at a time, never finished", b"GET /healthz HTTP/1.1\r\nHost: x\r\n", 1),
    ("a body shorter than its Content-Length", b"POST /TENANT/oauth2/v2.0/token HTTP/1.1\r\nHost: x\r\n"
     b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\ngrant_type=cli", 1),
])
def test_slow_clients_are_cut_off_within_their_limit_while_others_are_served(guarded, misbehaviour, opening, limit):
    sock = connect(guarded, handshake=opening is not None)
    if opening:
        sock.sendall(opening.replace(b"TENANT", guarded.tenant.encode()))
    served = []
    worker = threading.Thread(target=lambda: served.append(healthy(guarded)))
    worker.start()
    elapsed = seconds_until_closed(sock, limit)
    worker.join()
    assert served == [True], f"a well-behaved client was not served during the {misbehaviour}"
    assert limit - 0.2 <= elapsed <= limit + SLACK, f"{misbehaviour}: closed after {elapsed:.2f}s, limit {limit}s"


def test_a_kept_alive_connection_serves_requests_then_closes_when_idle(guarded):
    sock = connect(guarded)
    for request in range(3):
        if request:
            time.sleep(1)  # under the idle limit: the connection stays
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_one_response(sock).startswith(b"HTTP/1.1 200")
    assert 1.8 <= seconds_until_closed(sock, 2) <= 2 + SLACK


def test_connections_over_the_cap_are_closed_at_once_and_the_cap_frees_up(guarded):
    held = [connect(guarded, handshake=False) for _ in range(8)]
    try:
        extra = connect(guarded, handshake=False)
        assert seconds_until_closed(extra, 0) < SLACK
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if healthy(guarded):
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    pytest.fail("no connection was admitted after the held ones closed")


def test_http_1_0_without_keep_alive_gets_connection_close_and_is_closed(guarded):
    sock = connect(guarded)
    sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
    started = time.monotonic()
    response = read_response(sock)  # returns only when the server closes
    assert time.monotonic() - started < 1
    head = response.split(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 200") and b"\r\nconnection: close" in head


def test_http_1_1_connection_close_is_echoed_and_honoured(guarded):
    sock = connect(guarded)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    response = read_response(sock)
    assert b"\r\nconnection: close" in response.split(b"\r\n\r\n")[0].lower()


@pytest.mark.parametrize("headers,problem", [
    (b"Host: a\r\nHost: b\r\n", b"2 Host headers"),
    (b"", b"no Host header"),
])
def test_a_request_without_exactly_one_host_gets_400(guarded, headers, problem):
    sock = connect(guarded)
    sock.sendall(b"GET /healthz HTTP/1.1\r\n" + headers + b"\r\n")
    response = read_response(sock)
    assert response.startswith(b"HTTP/1.1 400"), response[:200]
    assert problem in response and b'"error":"invalid_request"' in response


def test_the_generated_certificate_passes_strict_x509_verification(guarded):
    """Python 3.13 sets VERIFY_X509_STRICT by default; OpenSSL then wants the leaf's Authority Key
    Identifier among other RFC 5280 details."""
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=10) as raw:
        with tls_context(guarded, strict=True).wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200")
    chain = guarded.data_dir / "tls" / "server.pem"
    result = subprocess.run(["openssl", "verify", "-x509_strict", "-CAfile", guarded.ca_file, str(chain)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_ca_key_is_not_kept_and_the_data_folder_is_private(start_server, tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # an operator's umask or mkdir made it readable to all
    (data / "tls").mkdir()
    (data / "tls" / "ca-key.pem").write_text("left by an earlier version\n")
    server = start_server(name="private", data_dir=data)
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert not (data / "tls" / "ca-key.pem").exists()
    assert sorted(p.name for p in (data / "tls").iterdir()) == ["ca.pem", "server-key.pem", "server.pem"]
    server.stop()


def openssl_handshake(server, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-CAfile", server.ca_file, *options],
                          input="", capture_output=True, text=True, timeout=20)


@pytest.mark.parametrize("version,cipher", [
    ("-tls1_2", "ECDHE-ECDSA-AES128-SHA"),     # CBC with SHA-1
    ("-tls1_2", "ECDHE-ECDSA-AES256-SHA384"),  # CBC
    ("-tls1_2", "AES128-GCM-SHA256"),          # static RSA key exchange
])
def test_tls_1_2_refuses_cbc_and_non_forward_secret_suites(guarded, version, cipher):
    result = openssl_handshake(guarded, version, "-cipher", cipher)
    assert "handshake failure" in result.stderr or "no ciphers available" in result.stderr, result.stdout[-500:]


@pytest.mark.parametrize("options,expected", [
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"], "ECDHE-ECDSA-AES128-GCM-SHA256"),
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"], "ECDHE-ECDSA-CHACHA20-POLY1305"),
    (["-tls1_3"], "TLS_AES_"),
])
def test_tls_offers_aead_suites_on_1_2_and_1_3(guarded, options, expected):
    result = openssl_handshake(guarded, *options)
    assert f"Cipher is {expected}" in result.stdout, result.stdout[-800:] + result.stderr[-500:]


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_tls_before_1_2_is_refused(guarded, version):
    result = openssl_handshake(guarded, version)
    assert "Cipher is" not in result.stdout or "Cipher is (NONE)" in result.stdout


def test_a_key_published_moments_ago_is_not_promoted(guarded, tmp_path):
    """Resource servers may cache the JWKS for max-age (300 s by default): a rotation that would
    sign with a key published more recently is refused, in one line that says when to retry."""
    assert requests.get(f"{guarded.base_url}/{guarded.tenant}/discovery/v2.0/keys", verify=guarded.ca_file,
                        timeout=5).headers["Cache-Control"] == "public, max-age=300"
    cli = SigilCli(tmp_path / "profile.json", binary=guarded.binary)
    cli.login(guarded)
    before = cli.json("keys", "list")
    result = cli.run("keys", "rotate", check=False)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "may cache the JWKS without it for up to" in lines[0] and "Rotate again then" in lines[0], lines
    assert cli.json("keys", "list") == before


@pytest.mark.parametrize("method,path,allow", [
    ("TRACE", "/healthz", "GET"),
    ("DELETE", "/admin/v1/applications", "GET, POST"),
    ("PUT", "/admin/v1/applications/anything", "DELETE, GET, PATCH"),
    ("GET", "/TENANT/oauth2/v2.0/token", "POST"),
])
def test_a_known_path_asked_with_another_method_is_405_with_allow(guarded, method, path, allow):
    reply = requests.request(method, guarded.base_url + path.replace("TENANT", guarded.tenant), verify=guarded.ca_file, timeout=5)
    assert reply.status_code == 405 and reply.headers["Allow"] == allow, (reply.status_code, reply.headers, reply.text)
    assert requests.request(method, guarded.base_url + "/no/such/path", verify=guarded.ca_file, timeout=5).status_code == 404

"""A real OpenID Connect issuer for the federation tests: HTTPS on 127.0.0.1 with a CA of its own,
a discovery document and a JWKS, keys of every common algorithm, and tokens minted on demand.

It can also misbehave on purpose, path by path, while it runs (slow, trickling, huge, not JSON,
HTTP 500, redirecting, naming another issuer), and it counts the connections and requests it
gets, so a test can tell how often Sigil fetched something, or that it never connected at all.

Standalone, for benchmarks:

    python Tests/Interop/oidc_issuer.py --serve --token-file F --ca-file C --sub S [--aud A]

prints `issuer URL` on stdout, writes a 1-hour token to F and the CA certificate to C, and
serves until killed.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import signal
import socket
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks"
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --------------------------------------------------------------------------------------------
# TLS: a CA and a leaf certificate for 127.0.0.1 / localhost


@dataclass
class TLSMaterial:
    """A CA (its PEM written to `ca_file`, for `sigil issuer trust URL --ca FILE`) and a server
    certificate it signed for 127.0.0.1 and localhost. One can serve several issuers."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    @classmethod
    def create(cls, directory: Path, name: str = "test-issuer") -> "TLSMaterial":
        directory.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                           key_encipherment=False, data_encipherment=False, key_agreement=False,
                                           encipher_only=False, decipher_only=False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
                .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                            x509.DNSName("localhost")]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        material = cls(directory / f"{name}-ca.pem", directory / f"{name}-cert.pem", directory / f"{name}-key.pem")
        material.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        material.cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        material.key_file.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
        material.key_file.chmod(0o600)
        return material

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


# --------------------------------------------------------------------------------------------
# Signing keys


@dataclass
class SigningKey:
    """A private key, the algorithm it signs with, and its kid."""

    alg: str
    kid: str
    private_key: Any

    @classmethod
    def generate(cls, alg: str, kid: str | None = None) -> "SigningKey":
        if alg in ("RS256", "PS256"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif alg == "ES256":
            key = ec.generate_private_key(ec.SECP256R1())
        elif alg == "EdDSA":
            key = ed25519.Ed25519PrivateKey.generate()
        else:
            raise ValueError(f"no key type for {alg}")
        return cls(alg, kid or f"{alg.lower()}-{uuid.uuid4().hex[:12]}", key)

    def public_jwk(self) -> dict:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        jwk = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": self.alg})
        return jwk

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, claims: dict, headers: dict | None = None) -> str:
        """Signs with this key; the header carries its kid unless `headers` sets kid (None drops it)."""
        header = {k: v for k, v in {"kid": self.kid, **(headers or {})}.items() if v is not None}
        return jwt.encode(claims, self.private_key, algorithm=self.alg, headers=header)


def compact(header: dict, claims: dict, signature: bytes = b"") -> str:
    """A compact JWS from parts, for the tokens no library will make (alg none, HMAC over a PEM)."""
    signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")).encode())
    return signing_input + "." + b64url(signature)


# --------------------------------------------------------------------------------------------
# Misbehaviour, switched per path at run time


@dataclass
class Hostile:
    """How the issuer answers one path instead of the truth.

    kind: 'slow' (sleep `seconds`, then answer normally), 'trickle' (send the body one byte a
    second for up to `seconds`), 'huge' (`size` bytes of JSON-looking data), 'not_json', 'error500',
    'redirect' (302 to `location`), 'other_issuer' (the discovery document names `issuer_value`)."""

    kind: str
    seconds: float = 60.0
    size: int = 8 * 1024 * 1024
    location: str = ""
    issuer_value: str = "https://other-issuer.example"


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: pytest shows our assertions instead
        pass

    def do_GET(self):
        issuer = self.server.issuer
        path = self.path.split("?", 1)[0]
        issuer._count(path)
        if issuer.path_prefix and path.startswith(issuer.path_prefix):
            path = path[len(issuer.path_prefix):]
        documents = {DISCOVERY_PATH: issuer.discovery_document, JWKS_PATH: issuer.jwks}
        if path not in documents:
            return self._send(404, b'{"error":"not_found"}')
        mode = issuer.hostile_modes.get(path)
        if mode is None:
            return self._send(200, json.dumps(documents[path]()).encode())
        return self._misbehave(mode, documents[path])

    def _misbehave(self, mode: Hostile, document):
        if mode.kind == "slow":
            time.sleep(mode.seconds)
            return self._send(200, json.dumps(document()).encode())
        if mode.kind == "trickle":
            body = json.dumps(document()).encode()
            body = body + b" " * max(0, int(mode.seconds) - len(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(min(len(body), int(mode.seconds))):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass  # the client gave up, as it should
            self.close_connection = True
            return
        if mode.kind == "huge":
            filler = b'{"keys":[' + b'{"kty":"oct","k":"' + b"A" * (mode.size - 32) + b'"}]}'
            return self._send(200, filler)
        if mode.kind == "not_json":
            return self._send(200, b"<html><body>This is not JSON</body></html>", content_type="text/html")
        if mode.kind == "error500":
            return self._send(500, b'{"error":"internal"}')
        if mode.kind == "redirect":
            return self._send(302, b"", extra_headers={"Location": mode.location})
        if mode.kind == "other_issuer":
            doc = dict(document(), issuer=mode.issuer_value)
            return self._send(200, json.dumps(doc).encode())
        raise ValueError(f"unknown hostile mode {mode.kind}")

    def _send(self, status: int, body: bytes, content_type: str = "application/json", extra_headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, issuer: "TestIssuer", context: ssl.SSLContext | None):
        self.issuer = issuer
        self.context = context
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request, client_address):
        """Runs in the connection's own thread: the TLS handshake happens here, so a stalled
        client cannot hold up the others."""
        self.issuer._count_connection()
        request.settimeout(30)
        if self.context is not None:
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


# --------------------------------------------------------------------------------------------
# The issuer


class TestIssuer:
    """An HTTPS OIDC issuer on 127.0.0.1:PORT (`url`), serving discovery and JWKS in a thread.

    Keys: one per algorithm in ALGORITHMS (`keys[alg]` is the current one); `rotate(alg)` adds a
    new key with a new kid. Counters: `connections` (TCP connections accepted) and `hits[path]`."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path, tls: TLSMaterial | None = None, path_prefix: str = "", plain_http: bool = False):
        self.directory = Path(directory)
        self.tls = tls if tls is not None or plain_http else TLSMaterial.create(self.directory)
        self.path_prefix = path_prefix.rstrip("/")
        self.keys: dict[str, SigningKey] = {alg: SigningKey.generate(alg) for alg in ALGORITHMS}
        self.published: list[SigningKey] = list(self.keys.values())
        self.hostile_modes: dict[str, Hostile] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self.connections = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "TestIssuer":
        self._server = _Server(self, None if self.tls is None else self.tls.server_context())
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "TestIssuer":
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (still known after stop, for handlers that finish late)."""
        assert self._port is not None, "not started"
        return self._port

    @property
    def url(self) -> str:
        """The issuer identifier: what tokens carry in `iss` and FICs name."""
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://127.0.0.1:{self.port}{self.path_prefix}"

    @property
    def ca_file(self) -> Path:
        assert self.tls is not None
        return self.tls.ca_file

    @property
    def discovery_path(self) -> str:
        return DISCOVERY_PATH

    @property
    def jwks_path(self) -> str:
        return JWKS_PATH

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH

    # -- documents -------------------------------------------------------------------------

    def discovery_document(self) -> dict:
        return {
            "issuer": self.url,
            "jwks_uri": self.jwks_url,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": list(ALGORITHMS),
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "nbf", "jti"],
        }

    def jwks(self) -> dict:
        with self._lock:
            return {"keys": [key.public_jwk() for key in self.published]}

    # -- keys ------------------------------------------------------------------------------

    def rotate(self, alg: str = "RS256") -> SigningKey:
        """Adds a new key (a new kid) for `alg` to the JWKS; it becomes the one `mint` uses."""
        key = SigningKey.generate(alg)
        with self._lock:
            self.keys[alg] = key
            self.published.append(key)
        return key

    def key_by_kid(self, kid: str) -> SigningKey:
        return next(key for key in self.published if key.kid == kid)

    # -- counters and modes ----------------------------------------------------------------

    def _count(self, path: str):
        with self._lock:
            self.hits[path] += 1

    def _count_connection(self):
        with self._lock:
            self.connections += 1

    def hits_on(self, path: str) -> int:
        with self._lock:
            return self.hits[self.path_prefix + path]

    def reset_counts(self):
        with self._lock:
            self.hits.clear()
            self.connections = 0

    def misbehave(self, path: str, mode: Hostile):
        """From now on, answer `path` (DISCOVERY_PATH or JWKS_PATH) the hostile way."""
        self.hostile_modes[path] = mode

    def behave(self):
        self.hostile_modes.clear()

    # -- tokens ----------------------------------------------------------------------------

    def claims(self, sub: str, aud: str = DEFAULT_AUDIENCE, lifetime: int = 600, iat: int | None = None,
               nbf: int | None = None, exp: int | None = None, extra_claims: dict | None = None) -> dict:
        now = int(time.time())
        iat = now if iat is None else iat
        claims = {"iss": self.url, "sub": sub, "aud": aud, "iat": iat, "nbf": iat if nbf is None else nbf,
                  "exp": iat + lifetime if exp is None else exp, "jti": str(uuid.uuid4())}
        claims.update(extra_claims or {})
        return claims

    def mint(self, sub: str, aud: str = DEFAULT_AUDIENCE, alg: str = "RS256", kid: str | None = None, lifetime: int = 600,
             extra_claims: dict | None = None, iat: int | None = None, nbf: int | None = None, exp: int | None = None,
             headers: dict | None = None, signing_key: SigningKey | None = None) -> str:
        """A compact JWT from this issuer, signed with its current `alg` key (or the key `kid`
        names, or `signing_key`, e.g. one from another issuer: the header then carries that key's
        kid unless `headers` says otherwise)."""
        key = signing_key or (self.key_by_kid(kid) if kid else self.keys[alg])
        claims = self.claims(sub, aud, lifetime, iat, nbf, exp, extra_claims)
        return key.sign(claims, headers)

    def mint_unsigned(self, sub: str, aud: str = DEFAULT_AUDIENCE, **claims_options) -> str:
        """alg none, an empty signature."""
        return compact({"alg": "none", "typ": "JWT", "kid": self.keys["RS256"].kid}, self.claims(sub, aud, **claims_options))

    def mint_hmac_with_public_key(self, sub: str, aud: str = DEFAULT_AUDIENCE, **claims_options) -> str:
        """HS256 keyed with the RSA key's public PEM, kid of that RSA key: the classic key-confusion attack."""
        key = self.keys["RS256"]
        header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
        signing_input = compact(header, self.claims(sub, aud, **claims_options)).rsplit(".", 1)[0]
        return signing_input + "." + b64url(hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest())


# --------------------------------------------------------------------------------------------
# A listener that only counts connections (a target that must never be reached)


class ConnectionCanary:
    """Accepts TCP connections on 127.0.0.1:PORT, counts them and closes them at once."""

    def __init__(self):
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.2)
        self.connections = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1]

    def url(self, path: str = "/jwks") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def _accept(self):
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            connection.close()

    def stop(self):
        self._stopped.set()
        self._thread.join(timeout=2)
        self._socket.close()


# --------------------------------------------------------------------------------------------
# Standalone mode


def main(argv=None):
    parser = argparse.ArgumentParser(description="A test OIDC issuer on 127.0.0.1 (HTTPS).")
    parser.add_argument("--serve", action="store_true", required=True, help="serve until killed")
    parser.add_argument("--token-file", required=True, help="where to write a 1-hour token")
    parser.add_argument("--ca-file", required=True, help="where to write the CA certificate (PEM)")
    parser.add_argument("--sub", required=True, help="the token's subject")
    parser.add_argument("--aud", default=DEFAULT_AUDIENCE, help=f"the token's audience (default {DEFAULT_AUDIENCE})")
    parser.add_argument("--alg", default="RS256", choices=ALGORITHMS)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="oidc-issuer-"))
    issuer = TestIssuer(work).start()
    Path(args.ca_file).write_bytes(issuer.ca_file.read_bytes())
    token_file = Path(args.token_file)
    token_file.write_text(issuer.mint(args.sub, aud=args.aud, alg=args.alg, lifetime=3600))
    token_file.chmod(0o600)
    print(f"issuer {issuer.url}", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    issuer.stop()


if __name__ == "__main__":
    main()

"""Helpers for the `sigil scan` end-to-end tests: secrets made at test time (never committed as
literals), a runner for the real `sigil` binary, and a small `git` wrapper with a fixed identity.

Every secret below is random and made when a test runs; the ones with a checksum get a right
one, so the scanner's checksum rules accept them."""

from __future__ import annotations

import base64
import json
import os
import secrets
import string
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from conftest import SIGIL_BIN
from helpers import sigil_secret_checksum  # the same base-62 CRC32 GitHub, npm and Sigil use

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
BASE32_UPPER = string.ascii_uppercase + "234567"


def _random(alphabet: str, count: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(count))


def github_pat() -> str:
    body = _random(BASE62, 30)
    return "ghp_" + body + sigil_secret_checksum(body)


def sigil_secret() -> str:
    body = _random(BASE62, 40)
    return "sgs_" + body + sigil_secret_checksum(body)


def aws_key_id() -> str:
    return "AKIA" + _random(BASE32_UPPER, 16)


def slack_bot_token() -> str:
    return f"xoxb-{_random(string.digits, 12)}-{_random(string.digits, 13)}-{_random(BASE62, 24)}"


def password(length: int = 20) -> str:
    """A password that reads as a real one: mixed classes, no placeholder words."""
    while True:
        value = _random(string.ascii_letters + string.digits, length - 2) + secrets.choice("!%^*") + secrets.choice(string.digits)
        if not any(word in value.lower() for word in ("example", "xxxx", "placeholder", "changeme", "your")):
            return value


def custom_token() -> str:
    """A token of the custom rule the config tests declare: `acme_` + 32 of [a-z0-9]."""
    return "acme_" + _random(string.ascii_lowercase + string.digits, 32)


def private_key_pem() -> str:
    """An RSA PRIVATE KEY block whose body is realistic base64 (random DER-looking bytes)."""
    der = b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00" + secrets.token_bytes(1180)
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----\n"


# --------------------------------------------------------------------------------------------
# Running sigil


@dataclass
class ScanResult:
    returncode: int
    stdout: str
    stderr: str
    args: list[str]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> dict:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as e:
            raise AssertionError(f"sigil {' '.join(self.args)} printed no JSON (exit {self.returncode}):\n"
                                 f"stdout: {self.stdout!r}\nstderr: {self.stderr!r}") from e

    def describe(self) -> str:
        return f"sigil {' '.join(self.args)} exited {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def wait_for_binary(path: str = SIGIL_BIN, timeout: float = 120.0) -> str:
    """The binary may be replaced by a rebuild while the suite runs: wait until it is back."""
    deadline = time.monotonic() + timeout
    while not (os.path.isfile(path) and os.access(path, os.X_OK)):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} is not an executable file")
        time.sleep(0.5)
    return path


def run_sigil(*args: str, cwd: Path | str | None = None, input: str | bytes | None = None,
              env: dict | None = None, timeout: float = 60) -> ScanResult:
    binary = wait_for_binary()
    full_env = dict(os.environ, NO_COLOR="1")
    full_env.update(env or {})
    data = input.encode() if isinstance(input, str) else input
    for attempt in range(3):
        try:
            p = subprocess.run([binary, *args], cwd=cwd, input=data, capture_output=True, env=full_env, timeout=timeout)
            break
        except OSError:
            # A rebuild replaced the binary between the check and the exec ("text file busy").
            if attempt == 2:
                raise
            wait_for_binary()
    return ScanResult(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), list(args))


def scan(*args: str, **kwargs) -> ScanResult:
    return run_sigil("scan", *args, **kwargs)


def scan_json(*args: str, expect: int | None = None, **kwargs) -> tuple[ScanResult, dict]:
    result = scan(*args, "--format", "json", **kwargs)
    if expect is not None:
        assert result.returncode == expect, result.describe()
    return result, result.json()


def assert_not_leaked(result: ScanResult, *values: str):
    """No raw secret (nor any long piece of a private key's body) in anything sigil printed."""
    for value in values:
        pieces = [value]
        if value.startswith("-----BEGIN"):
            pieces = [line for line in value.splitlines() if line and not line.startswith("-----")]
        for piece in pieces:
            assert piece not in result.stdout, f"secret {piece[:4]}… leaked on stdout of sigil {' '.join(result.args)}"
            assert piece not in result.stderr, f"secret {piece[:4]}… leaked on stderr of sigil {' '.join(result.args)}"


def findings_by(report: dict, rule: str | None = None, file: str | None = None) -> list[dict]:
    return [f for f in report["findings"] if (rule is None or f["rule"] == rule) and (file is None or f["file"] == file)]


def one_finding(report: dict, rule: str, file: str | None = None) -> dict:
    found = findings_by(report, rule, file)
    assert len(found) == 1, f"expected one {rule} finding in {file}, got {found}\nall: {json.dumps(report, indent=1)}"
    return found[0]


def expected_redaction(secret: str) -> str:
    """What the docs and the text output show: at most the first four characters, then stars."""
    return secret[:min(4, len(secret) // 5)] + "*****"


# --------------------------------------------------------------------------------------------
# git


ALICE = ("Alice Example", "alice@example.test")
BOB = ("Bob Builder", "bob@example.test")


def git_env(author=ALICE, date: str | None = None) -> dict:
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("GIT_")]:
        del env[key]
    env.update({
        "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": author[0], "GIT_COMMITTER_EMAIL": author[1],
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0",
        "NO_COLOR": "1",
    })
    if date:
        env["GIT_AUTHOR_DATE"] = date
        env["GIT_COMMITTER_DATE"] = date
    return env


class Git:
    """`git` in one repository, with a fixed identity and no user or system configuration."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def init(cls, path: Path, bare: bool = False) -> "Git":
        path.mkdir(parents=True, exist_ok=True)
        args = ["git", "-c", "init.defaultBranch=main", "init", "-q"] + (["--bare"] if bare else []) + [str(path)]
        subprocess.run(args, check=True, env=git_env(), capture_output=True)
        repo = cls(path)
        if not bare:
            repo("config", "commit.gpgsign", "false")
        return repo

    def run(self, *args: str, check: bool = True, author=ALICE, date: str | None = None,
            env: dict | None = None, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        full_env = git_env(author, date)
        full_env.update(env or {})
        p = subprocess.run(["git", "-c", "protocol.file.allow=always", *args], cwd=self.path, capture_output=True,
                           text=True, env=full_env, input=input, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} in {self.path} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def __call__(self, *args: str, **kwargs) -> str:
        return self.run(*args, **kwargs).stdout.strip()

    def write(self, name: str, text: str) -> Path:
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def commit_file(self, name: str, text: str, message: str, author=ALICE, date: str | None = None) -> str:
        self.write(name, text)
        self("add", "--", name)
        self("commit", "-q", "-m", message, author=author, date=date)
        return self("rev-parse", "HEAD")

    def head(self) -> str:
        return self("rev-parse", "HEAD")


def hook_path(repo: Path, kind: str) -> Path:
    bare = (repo / "HEAD").is_file() and (repo / "objects").is_dir()
    return (repo if bare else repo / ".git") / "hooks" / kind

"""The key-encryption key as an operator meets it (docs/operations.md): a start with a missing or
wrong KEK is refused with a message saying what to do and changes nothing, and `sigil kek rotate`
rotates a running server, with `DATA/kek` and with SIGIL_KEK / SIGIL_KEK_PREVIOUS."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import ServerStartError, SigilCli


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def kek_id(key: str) -> str:
    return hmac.new(base64.b64decode(key.strip()), b"sigil-kek-id", "sha256").digest()[:8].hex()


def files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_start_without_the_kek_is_refused_and_changes_nothing(start_server):
    server = start_server(store="sqlite", name="kek-missing")
    assert server.stop() == 0
    kept = server.data_dir.parent / "kek.kept"
    (server.data_dir / "kek").rename(kept)
    before = files(server.data_dir)
    with pytest.raises(ServerStartError) as refused:
        server.start()
    message = str(refused.value)
    assert "the store holds 4 signing keys sealed under a key-encryption key, but there is none" in message, message
    assert f"Restore {server.data_dir / 'kek'} from the backup of this data folder, or set SIGIL_KEK" in message
    assert files(server.data_dir) == before and not (server.data_dir / "kek").exists()

    # A wrong key, from the environment or a replaced file, is refused the same way.
    server.extra_env = {"SIGIL_KEK": new_key()}
    with pytest.raises(ServerStartError) as wrong:
        server.start()
    assert "signing keys do not open with this key-encryption key (SIGIL_KEK)" in str(wrong.value)
    server.extra_env = {"SIGIL_KEK_PREVIOUS": new_key()}
    with pytest.raises(ServerStartError) as alone:
        server.start()
    assert "SIGIL_KEK_PREVIOUS is set but SIGIL_KEK is not" in str(alone.value)
    assert files(server.data_dir) == before

    server.extra_env = {}
    kept.rename(server.data_dir / "kek")
    server.start()
    assert server.stop() == 0


def test_kek_rotate_rotates_a_running_server(start_server, tmp_path):
    server = start_server(name="kek-online")
    kids = server.jwks_kids()
    old = (server.data_dir / "kek").read_text()
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    rotated = cli.run("kek", "rotate")
    new = (server.data_dir / "kek").read_text()
    assert new != old and not (server.data_dir / "kek.new").exists()
    assert rotated.stdout.strip() == f"Re-sealed 4 signing keys and re-wrapped 0 vault data keys under key-encryption key {kek_id(new)}.", rotated.stdout
    assert new.strip() not in rotated.stdout + rotated.stderr
    again = cli.json("kek", "rotate")
    assert again["previousKekId"] == kek_id(new) and again["kekId"] == kek_id((server.data_dir / "kek").read_text())
    audit = cli.json("logs", "audit")
    assert [e for e in audit["value"] if e["activityDisplayName"] == "keyEncryptionKey.rotate"], audit
    # The server kept signing throughout, with the same keys, and starts again on the new KEK alone.
    assert server.jwks_kids() == kids
    assert server.stop() == 0
    server.start()
    assert server.jwks_kids() == kids
    assert server.stop() == 0
    server.extra_env = {"SIGIL_KEK": old.strip()}
    with pytest.raises(ServerStartError):
        server.start()


def test_kek_rotate_with_the_kek_in_the_environment(start_server, tmp_path):
    old, new = new_key(), new_key()
    server = start_server(name="kek-env-online", env={"SIGIL_KEK": old})
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    refused = cli.run("kek", "rotate", check=False)
    assert refused.returncode == 1 and refused.stderr.startswith("error: the key-encryption key is SIGIL_KEK, which a running server cannot change")
    assert "SIGIL_KEK_PREVIOUS" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert server.stop() == 0

    server.extra_env = {"SIGIL_KEK": new, "SIGIL_KEK_PREVIOUS": old}
    server.start()
    cli.login(server)  # a new port
    rotated = cli.json("kek", "rotate")
    assert rotated["kekId"] == kek_id(new) and rotated["previousKekId"] == kek_id(old) and rotated["resealedSigningKeys"] == 4
    assert server.stop() == 0
    server.extra_env = {"SIGIL_KEK": new}
    server.start()
    assert not (server.data_dir / "kek").exists()
    assert server.stop() == 0


def test_kek_rotate_loses_no_vault_version_while_they_are_read(start_server, tmp_path):
    server = start_server(name="kek-vault")
    cli = SigilCli(tmp_path / "profile.json", binary=server.binary)
    cli.login(server)
    cli.run("vault", "create", "kekvault")
    env = dict(os.environ, SIGIL_PROFILE=str(cli.profile))
    values = {}
    for n in range(24):
        value = f"password {n} ✓ " + "x" * n
        result = subprocess.run([server.binary, "vault", "secret", "set", f"kekvault/db-{n % 4}", "--json"], input=value,
                                capture_output=True, text=True, env=env, check=True)
        values[f"kekvault/db-{n % 4}/{json.loads(result.stdout)['id'].rsplit('/', 1)[1]}"] = value

    failures, reads, stop = [], [0], threading.Event()

    def read_all():
        while not stop.is_set() or reads[0] < len(values):
            for ref, value in values.items():
                got = cli.run("vault", "secret", "get", ref, check=False)
                reads[0] += 1
                if got.returncode != 0 or got.stdout != value:
                    failures.append((ref, got.returncode, got.stderr))

    reader = threading.Thread(target=read_all)
    reader.start()
    rotated = cli.json("kek", "rotate")
    stop.set()
    reader.join()
    assert rotated["rewrappedVersions"] == 24 and not failures and reads[0] >= 24, (rotated, failures[:3])

    # A restart with only the new key reads every version.
    assert server.stop() == 0
    server.start()
    cli.login(server)
    for ref, value in values.items():
        assert cli.run("vault", "secret", "get", ref).stdout == value

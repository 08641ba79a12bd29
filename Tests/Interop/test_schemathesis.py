"""schemathesis against a live server, with every check: what the served OpenAPI document says
and what the server does agree, for generated valid and invalid requests, undeclared methods
and the stateful links. Tests/Interop/schemathesis.toml says which operations' semantic checks
(PEM, durations, uniqueness) the document cannot express."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_schemathesis_finds_nothing(start_server, tmp_path):
    server = start_server(store="sqlite", name="schemathesis")
    from conftest import admin_token

    token = admin_token(server, server.admin_key_file)
    document = f"{server.base_url}/admin/v1/openapi.yaml"
    result = subprocess.run(
        [sys.executable, str(HERE / "schemathesis_cli.py"), "--config-file", str(HERE / "schemathesis.toml"), "run", document, "--url", server.base_url,
         "--tls-verify", server.ca_file, "-H", f"Authorization: Bearer {token}", "--checks", "all",
         "--max-examples", "10", "--workers", "2", "--seed", "1", "--no-color"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    summary = result.stdout[result.stdout.find("SUMMARY"):]
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert " passed" in summary and "failure" not in summary and "Runtime Error" not in summary, summary

"""The README and docs stand alone: links stay inside the repository and resolve, the walk-through
names the server through its variables only, keeps what it makes in the scratch folder, and its
Python files are valid Python."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_links_stay_inside_the_repository_and_resolve():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            assert not re.match(r"[a-z]+://", target), f"{page.name} links outside the repository: {target}"
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.exists(), f"{page.name} links to {target}, which does not exist"


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def test_the_walk_through_uses_its_variables_and_scratch_folder():
    readme = (REPO / "README.md").read_text()
    walk = readme[readme.index("## Five minutes"):readme.index("## Using it from existing clients")]
    blocks = shell_blocks(walk)
    setup = blocks[0]
    for variable in ("SIGIL_HOST=", "SIGIL_PORT=", "SIGIL_URL=", "WORK=$(mktemp -d)", 'cd "$WORK"', "python3 -m venv"):
        assert variable in setup, f"the walk-through's first block does not set {variable}"
    for block in blocks[1:]:
        assert "8443" not in block and "https://127.0.0.1" not in block, f"a hard-coded server address after the variables:\n{block}"
        assert "pip install" not in block or "$WORK/venv/bin/pip" in block, "pip outside the venv"
        assert not re.search(r"(^|\s)python3? ", block), f"python outside the venv:\n{block}"
        assert "sigil-data" not in block.replace("$WORK/sigil-data", ""), "the data folder is $SIGIL_DATA in the scratch folder"


def test_the_walk_through_python_files_compile():
    readme = (REPO / "README.md").read_text()
    files = re.findall(r"cat > \"\$WORK/(\w+\.py)\" <<'EOF'\n(.*?)\nEOF\n", readme, flags=re.S)
    names = [name for name, _ in files]
    assert {"with_secret.py", "with_cert_azure.py", "with_cert_msal.py"} <= set(names), names
    for name, source in files:
        compile(source, name, "exec")
    sources = dict(files)
    assert "ClientSecretCredential" in sources["with_secret.py"]
    assert "CertificateCredential" in sources["with_cert_azure.py"]
    assert '"private_key"' in sources["with_cert_msal.py"] and '"thumbprint"' in sources["with_cert_msal.py"]
    assert "certifi" in readme and "REQUESTS_CA_BUNDLE" in readme

"""Synthetic secrets for the scanner benchmark, in the formats of docs/scanner-rules.md.

Every generator takes a random.Random (so a fixed seed gives the same corpus on every machine)
and returns (rule id, lines): the text to plant, one or more lines, with the secret on lines[0]
(multi-line keys start on their first line). Values are random, high-entropy and free of the
words the rules treat as placeholders, so a correct scanner reports every one of them.
"""

import base64
import json
import string
import zlib

DIGITS = string.digits
UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
ALNUM = DIGITS + UPPER + LOWER  # base-62 alphabet in checksum order: 0-9A-Za-z
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "_-"
B64 = UPPER + LOWER + DIGITS + "+/"
BASE32 = UPPER + "234567"


def pick(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def crc_base62(body):
    """6-character base-62 CRC32 of body, most significant digit first, zero-padded."""
    value = zlib.crc32(body.encode())
    digits = []
    for _ in range(6):
        value, r = divmod(value, 62)
        digits.append(ALNUM[r])
    return "".join(reversed(digits))


def checksummed(rng, prefix, body_len):
    body = pick(rng, ALNUM, body_len)
    return prefix + body + crc_base62(body)


def clean(rng, alphabet, n):
    """Random text that contains none of the rules' placeholder markers."""
    while True:
        s = pick(rng, alphabet, n)
        low = s.lower()
        if not any(w in low for w in ("example", "xxxx", "placeholder", "changeme", "your-")):
            return s


def b64(raw):
    return base64.b64encode(raw).decode()


def b64url(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Each entry: rule id -> function(rng) -> list of lines.

def github(prefix):
    return lambda rng: [f'let token = "{checksummed(rng, prefix, 30)}"']


def sigil_secret(name, prefix):
    return lambda rng: [f"{name}={checksummed(rng, prefix, 40)}"]


def npm(rng):
    return [f"//registry.npmjs.org/:_authToken={checksummed(rng, 'npm_', 30)}"]


def aws_pair(rng):
    key_id = rng.choice(["AKIA", "ASIA"]) + clean(rng, BASE32, 16)
    secret = clean(rng, B64, 40)
    return [f"aws_access_key_id = {key_id}", f"aws_secret_access_key = {secret}"]


def pem_key(rng):
    # A DER SEQUENCE header (30 82 len) followed by random bytes, wrapped at 64 columns.
    body = b64(bytes([0x30, 0x82, 0x04, 0xA4, 0x02, 0x01, 0x00]) + rng.randbytes(1185))
    kind = rng.choice(["RSA ", "EC ", ""])
    lines = [f"-----BEGIN {kind}PRIVATE KEY-----"]
    lines += [body[i:i + 64] for i in range(0, len(body), 64)]
    lines.append(f"-----END {kind}PRIVATE KEY-----")
    return lines


def openssh_key(rng):
    body = b64(b"openssh-key-v1\0" + rng.randbytes(380))
    return (["-----BEGIN OPENSSH PRIVATE KEY-----"]
            + [body[i:i + 70] for i in range(0, len(body), 70)]
            + ["-----END OPENSSH PRIVATE KEY-----"])


def slack_bot(rng):
    return [f'SLACK_BOT_TOKEN="xoxb-{pick(rng, DIGITS, 12)}-{pick(rng, DIGITS, 13)}-{clean(rng, ALNUM, 24)}"']


def slack_webhook(rng):
    url = (f"https://hooks.slack.com/services/T{pick(rng, UPPER + DIGITS, 10)}"
           f"/B{pick(rng, UPPER + DIGITS, 10)}/{clean(rng, ALNUM, 24)}")
    return [f'webhook: "{url}"']


def stripe(rng):
    return [f'Stripe.apiKey = "sk_live_{clean(rng, ALNUM, 32)}"']


def gcp_api(rng):
    return [f'"AIza{clean(rng, URLSAFE, 35)}"']


def gitlab(rng):
    return [f"GITLAB_TOKEN=glpat-{clean(rng, URLSAFE, 20)}"]


def openai(rng):
    return [f'OPENAI_API_KEY="sk-proj-{clean(rng, URLSAFE, 48)}"']


def anthropic(rng):
    return [f'ANTHROPIC_API_KEY="sk-ant-api03-{clean(rng, URLSAFE, 93)}AA"']


def sendgrid(rng):
    return [f'sendgrid = "SG.{clean(rng, URLSAFE, 22)}.{clean(rng, URLSAFE, 43)}"']


def digitalocean(rng):
    return [f"DO_TOKEN=dop_v1_{pick(rng, HEX, 64)}"]


def azure_client(rng):
    return [f'AZURE_CLIENT_SECRET="{clean(rng, ALNUM, 3)}8Q~{clean(rng, ALNUM + "_~.-", 34)}"']


def azure_conn(rng):
    key = clean(rng, B64, 86) + "=="
    return [f'"DefaultEndpointsProtocol=https;AccountName=st{pick(rng, LOWER, 8)};'
            f'AccountKey={key};EndpointSuffix=core.windows.net"']


def jwt(rng):
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": pick(rng, ALNUM, 16), "iat": rng.randrange(1_600_000_000, 1_800_000_000)}
    payload = b64url(json.dumps(claims).encode())
    return [f'Authorization: Bearer {header}.{payload}.{b64url(rng.randbytes(32))}']


def url_password(rng):
    return [f'DATABASE_URL="postgres://app:{clean(rng, ALNUM, 20)}@db-{pick(rng, LOWER, 6)}.internal:5432/app"']


def connection_string(rng):
    return [f'"Server=tcp:sql-{pick(rng, LOWER, 6)}.internal,1433;Database=app;User Id=svc;'
            f'Password={clean(rng, ALNUM, 18)};Encrypt=true"']


def generic_password(rng):
    return [f'db_password = "{clean(rng, ALNUM + "!#%+", 20)}"']


def generic_secret(rng):
    return [f'client_secret: "{clean(rng, ALNUM, 40)}"']


GENERATORS = {
    "sigil-client-secret": sigil_secret("SIGIL_CLIENT_SECRET", "sgs_"),
    "sigil-join-token": sigil_secret("SIGIL_JOIN_TOKEN", "sgj_"),
    "github-pat": github("ghp_"),
    "github-oauth-token": github("gho_"),
    "github-app-token": github("ghs_"),
    "npm-token": npm,
    "aws-access-key-id": aws_pair,  # plus aws-secret-access-key on the next line
    "private-key": pem_key,
    "openssh-private-key": openssh_key,
    "slack-bot-token": slack_bot,
    "slack-webhook-url": slack_webhook,
    "stripe-secret-key": stripe,
    "gcp-api-key": gcp_api,
    "gitlab-pat": gitlab,
    "openai-api-key": openai,
    "anthropic-api-key": anthropic,
    "sendgrid-api-key": sendgrid,
    "digitalocean-token": digitalocean,
    "azure-client-secret": azure_client,
    "azure-storage-connection-string": azure_conn,
    "jwt": jwt,
    "url-password": url_password,
    "connection-string-password": connection_string,
    "generic-password": generic_password,
    "generic-secret": generic_secret,
}


def make(rng):
    """One planted secret: a list of (rule, line offset) it should produce, and its lines."""
    rule = rng.choice(sorted(GENERATORS))
    lines = GENERATORS[rule](rng)
    expected = [(rule, 0)]
    if rule == "aws-access-key-id":
        expected.append(("aws-secret-access-key", 1))
    return expected, lines

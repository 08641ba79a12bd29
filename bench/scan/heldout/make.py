#!/usr/bin/env python3
"""Generate the held-out secret-scanner test tree and labels: python3 make.py OUT writes OUT/tree
and OUT/labels.json. Written for issue 13 by an engineer who never read sigil's rules nor its
labelled corpus, to measure how the rules carry over to shapes nobody tuned them on (first run:
precision 0.985, recall 0.903; see BENCHMARKS.md).

Deterministic: every random value comes from random.Random(SEED).
Templates use @@name@@ for value substitution and a trailing marker
  \u27e6P|shape|what\u27e7  (positive)   or   \u27e6N|shape|what\u27e7  (hard negative)
on the line where the value starts. Markers are stripped on write and
recorded (with their 1-based line numbers) in labels.json.
"""
import base64
import json
import os
import re
import shutil
import struct
import sys
import uuid

import random

SEED = 1313
DEST = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
OUT = os.path.join(DEST, "tree")
LABELS_PATH = os.path.join(DEST, "labels.json")

SHAPES = ["split-lines", "encoded", "command-lines", "inline-assignments",
          "urls", "misjudged-values", "token-formats", "placeholders"]

rng = random.Random(SEED)

UP = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LO = "abcdefghijklmnopqrstuvwxyz"
DG = "0123456789"
HEX = "0123456789abcdef"
ALNUM = UP + LO + DG
LETTERS = UP + LO
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
AWS_SECRET_ALPHA = ALNUM + "+/"
BANNED = ["example", "test", "dummy", "fake", "sample", "changeme", "placeholder",
          "password", "secret", "xxxx", "1234", "abcd", "redact", "your"]

WORDS = ["Copper", "Maple", "Orbit", "Lantern", "Falcon", "Harbor", "Quartz",
         "Thistle", "Cobalt", "Willow", "Saffron", "Glacier", "Ember", "Juniper",
         "Nimbus", "Pebble", "Marble", "Tundra", "Cinder", "Walnut", "Meadow",
         "Basalt", "Heron", "Violet", "Summit", "Drift", "Opal", "Raven"]


# ---------------------------------------------------------------- helpers
def rs(n, alpha=ALNUM):
    return "".join(rng.choice(alpha) for _ in range(n))


def rbytes(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def ok(v):
    low = v.lower()
    return not any(b in low for b in BANNED)


def gen(fn):
    """Call fn() until the value is free of placeholder-ish words."""
    for _ in range(1000):
        v = fn()
        if ok(v):
            return v
    raise RuntimeError("could not generate clean value")


def strong(n=20, sym="!#%*+-_.@^"):
    def f():
        while True:
            v = rs(n, ALNUM + sym)
            if (any(c in UP for c in v) and any(c in LO for c in v)
                    and any(c in DG for c in v) and any(c in sym for c in v)):
                return v
    return gen(f)


def alnum(n):
    def f():
        while True:
            v = rs(n)
            if any(c in UP for c in v) and any(c in LO for c in v) and any(c in DG for c in v):
                return v
    return gen(f)


def hexs(n):
    return gen(lambda: rs(n, HEX))


def human(sym="!#%*-_.@+"):
    return gen(lambda: "".join(rng.sample(WORDS, 2)) + str(rng.randint(10, 9999)) + rng.choice(sym))


def urlsafe_pw(n=24):
    return gen(lambda: rs(n, ALNUM + "-_."))


def b64(b):
    return base64.b64encode(b).decode()


def b64url_nopad(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def ruuid():
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def pem(kind, der):
    body = b64(der)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (kind, "\n".join(lines), kind)


def rsa_pkcs8_4096():
    prefix = bytes.fromhex("30820943020100300d06092a864886f70d010101050004820" "92d30820929020100028202010" "0")
    total = 4 + 0x943
    return pem("PRIVATE KEY", prefix + rbytes(total - len(prefix)))


def rsa_pkcs1_2048():
    prefix = bytes.fromhex("308204a40201000282010100")
    total = 4 + 0x4a4
    return pem("RSA PRIVATE KEY", prefix + rbytes(total - len(prefix)))


def cert():
    prefix = bytes.fromhex("3082032e30820216a0030201020214")
    total = 4 + 0x32e
    return pem("CERTIFICATE", prefix + rbytes(total - len(prefix)))


def ssh_ed25519_pub(comment):
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + rbytes(32)
    return "ssh-ed25519 %s %s" % (b64(blob), comment)


def sealed_blob(n):
    return b64(b"\x02\x00" + struct.pack(">H", n) + rbytes(n))


# ---------------------------------------------------------- token formats
def aws_key_id():
    return "AKIA" + gen(lambda: rs(16, B32))


def aws_secret():
    return gen(lambda: rs(40, AWS_SECRET_ALPHA))


def slack_xoxb_legacy():
    return "xoxb-" + str(rng.randint(10 ** 11, 10 ** 12 - 1)) + "-" + alnum(24)


def slack_xoxe_config():
    # config access token: xoxe.xoxp-1-<~160 alnum>
    return "xoxe.xoxp-1-Mi0yLT" + alnum(158)


def slack_xoxe_refresh():
    # config refresh token: xoxe-1-<146 alnum>
    return "xoxe-1-My0xLT" + alnum(140)


def hf_token():
    return "hf_" + gen(lambda: rs(34, LETTERS))


def hf_org():
    return "api_org_" + gen(lambda: rs(34, LETTERS))


def sgp():
    return "sgp_" + hexs(16) + "_" + hexs(40)


def notion():
    return "ntn_" + gen(lambda: rs(11, DG)) + alnum(35)


def sentry_org_token(org, region):
    iat = 1709000000 + rng.randint(0, 2000000) + rng.randint(0, 999999) / 1e6
    payload = json.dumps({"iat": iat, "url": "https://sentry.io",
                          "region_url": "https://%s.sentry.io" % region, "org": org},
                         separators=(",", ":"))
    def f():
        return "sntrys_" + b64(payload.encode()) + "_" + b64(rbytes(32)).rstrip("=")
    return gen(f)


def cf_origin_ca():
    return "v1.0-" + hexs(24) + "-" + hexs(146)


def ops_token():
    body = {
        "signInAddress": "acme-corp.1password.com",
        "userAuth": {"method": "SRPg-4096", "alg": "PBES2g-HS256", "iterations": 650000,
                     "salt": b64url_nopad(rbytes(16))},
        "email": gen(lambda: rs(13, "abcdefghijklmnopqrstuvwxyz234567")) + "@1passwordserviceaccounts.com",
        "srpX": rbytes(32).hex(),
        "muk": {"alg": "A256GCM", "ext": False, "k": b64url_nopad(rbytes(32)),
                "key_ops": ["decrypt", "encrypt"], "kty": "oct", "kid": "mp"},
        "secretKey": "A3-" + "-".join(gen(lambda: rs(k, "ABCDEFGHJKLMNPQRSTVWXYZ23456789")) for k in (6, 6, 5, 5, 5, 5)),
        "throttleSecret": {"seed": rbytes(32).hex(), "deviceUuid": gen(lambda: rs(26, "abcdefghijklmnopqrstuvwxyz234567"))},
        "deviceUuid": gen(lambda: rs(26, "abcdefghijklmnopqrstuvwxyz234567")),
    }
    return gen(lambda: "ops_" + b64(json.dumps(body, separators=(",", ":")).encode()).rstrip("="))


def dapi(suffix=""):
    return "dapi" + hexs(32) + suffix


def glsa():
    return "glsa_" + alnum(32) + "_" + hexs(8)


def glc(org_id, name, region):
    body = {"o": org_id, "n": name, "k": alnum(24), "m": {"r": region}}
    return gen(lambda: "glc_" + b64(json.dumps(body, separators=(",", ":")).encode()).rstrip("="))


def jenkins_secret(plain_len):
    ct_len = (plain_len // 16 + 1) * 16
    raw = b"\x01" + struct.pack(">I", 16) + struct.pack(">I", ct_len) + rbytes(16) + rbytes(ct_len)
    return gen(lambda: "{" + b64(raw) + "}")


def npm_token():
    return "npm_" + alnum(36)


def pypi_token():
    # pypi-AgEIcHlwaS5vcmc + base64url macaroon body
    return "pypi-AgEIcHlwaS5vcmc" + gen(lambda: b64url_nopad(rbytes(130)))


def whsec():
    return "whsec_" + alnum(32)


def k8s_sa_jwt():
    hdr = {"alg": "RS256", "kid": b64url_nopad(rbytes(32))}
    iat = 1709900000 + rng.randint(0, 100000)
    pl = {"aud": ["https://kubernetes.default.svc.cluster.local"], "exp": iat + 31536000,
          "iat": iat, "iss": "https://kubernetes.default.svc.cluster.local",
          "kubernetes.io": {"namespace": "ci", "serviceaccount": {"name": "deployer", "uid": ruuid()}},
          "nbf": iat, "sub": "system:serviceaccount:ci:deployer"}
    enc = lambda o: b64url_nopad(json.dumps(o, separators=(",", ":")).encode())
    return gen(lambda: enc(hdr) + "." + enc(pl) + "." + b64url_nopad(rbytes(256)))


def azure_sas_sig():
    return b64(rbytes(32)).replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def png_data_uri():
    return "data:image/png;base64," + b64(bytes.fromhex("89504e470d0a1a0a0000000d49484452") + rbytes(90))


# ------------------------------------------------------------ file writer
MARK = re.compile("\u27e6([PN])\\|([^|\u27e7]+)\\|([^\u27e7]+)\u27e7")
files = {}
labels = []
negatives = []


def emit(path, template, **vals):
    text = template
    if text.startswith("\n"):
        text = text[1:]
    for k, v in vals.items():
        text = text.replace("@@%s@@" % k, str(v))
    left = re.findall(r"@@[a-zA-Z0-9_]+@@", text)
    if left:
        raise SystemExit("%s: unsubstituted %s" % (path, left))
    out_lines = []
    for i, line in enumerate(text.split("\n"), start=1):
        for m in MARK.finditer(line):
            kind, shape, what = m.groups()
            assert shape in SHAPES, (path, shape)
            rec = {"path": path, "line": i, "shape": shape, "what": what}
            (labels if kind == "P" else negatives).append(rec)
        out_lines.append(MARK.sub("", line))
    body = "\n".join(out_lines)
    assert "\u27e6" not in body and "\u27e7" not in body, path
    if not body.endswith("\n"):
        body += "\n"
    assert path not in files, path
    files[path] = body


def P(shape, what):
    return "\u27e6P|%s|%s\u27e7" % (shape, what)


def N(shape, what):
    return "\u27e6N|%s|%s\u27e7" % (shape, what)


# ================================================================ FILES

# 1. Terraform variables -----------------------------------------------
emit("infra/terraform/variables.tf", r"""
variable "region" {
  description = "AWS region for the orders stack"
  type        = string
  default     = "eu-west-1"
}

variable "db_master_password" {
  description = "Master password for the Aurora cluster"
  type        = string
  sensitive   = true
  default     = "@@db_pw@@"⟦P|split-lines|terraform variable db_master_password default⟧
}

variable "redis_auth_token" {
  description = "AUTH token for the ElastiCache replication group"
  type        = string
  sensitive   = true
  default     = "@@redis_tok@@"⟦P|split-lines|terraform variable redis_auth_token default⟧
}

variable "password_min_length" {
  description = "Minimum length enforced by the IAM password policy"
  type        = number
  default     = 16⟦N|split-lines|password_min_length is a number⟧
}

variable "token_url" {
  description = "OAuth2 token endpoint used by the batch jobs"
  type        = string
  default     = "https://auth.acme-corp.net/oauth2/token"⟦N|split-lines|token_url is an endpoint⟧
}

variable "api_key_secret_name" {
  description = "Name of the Secrets Manager entry that holds the payments API key"
  type        = string
  default     = "prod/payments/api-key"⟦N|split-lines|secret name reference, not a value⟧
}

variable "admin_password" {
  description = "Bootstrap admin password, supplied by the pipeline"
  type        = string
  sensitive   = true⟦N|split-lines|sensitive variable without default⟧
}

variable "webhook_signing_secret" {
  type    = string
  default = ""⟦N|placeholders|empty default⟧
}

variable "ssh_public_key" {
  description = "Key installed on the bastion host"
  type        = string
  default     = "@@ssh_pub@@"⟦N|token-formats|ssh public key⟧
}
""", db_pw=strong(24), redis_tok=alnum(40), ssh_pub=ssh_ed25519_pub("deploy@ci-runner"))

# 2. Terraform main ------------------------------------------------------
emit("infra/terraform/main.tf", r"""
resource "random_password" "redis" {
  length  = 32
  special = false
}

resource "aws_db_instance" "reporting" {
  identifier          = "orders-reporting"
  engine              = "postgres"
  engine_version      = "15.5"
  instance_class      = "db.t4g.medium"
  username            = "reporting_admin"
  password            = var.db_password⟦N|placeholders|terraform variable reference⟧
  skip_final_snapshot = false
}

resource "aws_elasticache_replication_group" "cache" {
  replication_group_id = "orders-cache"
  description          = "orders session cache"
  node_type            = "cache.t4g.small"
  transit_encryption_enabled = true
  auth_token           = random_password.redis.result⟦N|placeholders|resource attribute reference⟧
}

resource "aws_ssm_parameter" "stripe_secret_key" {
  name  = "/prod/billing/stripe_secret_key"
  type  = "SecureString"
  value = "@@ssm_val@@"⟦P|split-lines|aws_ssm_parameter block named stripe_secret_key, value in child attribute⟧
}

resource "aws_ssm_parameter" "db_password" {
  name  = "/prod/orders/db_password"
  type  = "SecureString"
  value = data.aws_secretsmanager_secret_version.orders_db.secret_string⟦N|split-lines|password-named block whose value is a data reference⟧
}

locals {
  grafana_api_key = coalesce(var.grafana_api_key, "@@coalesce@@")⟦P|placeholders|real fallback inside coalesce()⟧
}

resource "aws_lambda_function" "invoice_renderer" {
  function_name    = "invoice-renderer"
  role             = aws_iam_role.lambda.arn
  handler          = "main.handler"
  runtime          = "python3.12"
  filename         = "build/invoice_renderer.zip"
  source_code_hash = "@@src_hash@@"⟦N|misjudged-values|base64 sha256 source_code_hash⟧
}
""", ssm_val=strong(32, sym="-_.+"), coalesce=alnum(40),
     src_hash=b64(rbytes(32)))

# 3. tfvars ---------------------------------------------------------------
emit("infra/terraform/prod.tfvars", r"""
environment            = "prod"
region                 = "eu-west-1"
git_sha                = "@@git_sha@@"⟦N|misjudged-values|git sha under git_sha⟧
ami_id                 = "ami-0@@ami@@"
jenkins_admin_password = "@@jpw@@"⟦P|misjudged-values|40-hex value under a password key⟧
db_password            = "********"⟦N|placeholders|masked value⟧
instance_count         = 3
""", git_sha=hexs(40), ami=hexs(16), jpw=hexs(40))

# 4. k8s deployment -------------------------------------------------------
emit("k8s/billing/deployment.yaml", r"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: billing-api
  namespace: payments
  labels:
    app: billing-api
spec:
  replicas: 3
  selector:
    matchLabels:
      app: billing-api
  template:
    metadata:
      labels:
        app: billing-api
      annotations:
        checksum/config: @@cfg_sum@@⟦N|misjudged-values|config checksum annotation⟧
    spec:
      serviceAccountName: billing-api
      containers:
        - name: billing-api
          image: registry.acme-corp.net/payments/billing-api@sha256:@@digest@@⟦N|token-formats|image digest⟧
          ports:
            - containerPort: 8080
          env:
            - name: API_TOKEN
              value: "@@api_token@@"⟦P|split-lines|k8s env API_TOKEN with value on next line⟧
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: billing-db⟦N|split-lines|secretKeyRef name, not a value⟧
                  key: password
            - name: TOKEN_URL
              value: https://auth.acme-corp.net/oauth2/token⟦N|split-lines|TOKEN_URL endpoint⟧
            - name: PASSWORD_MIN_LENGTH
              value: "12"⟦N|split-lines|PASSWORD_MIN_LENGTH number⟧
            - name: SESSION_SECRET
              value: "@@sess@@"⟦P|split-lines|k8s env SESSION_SECRET with value on next line⟧
            - name: JWT_SIGNING_KEY
              value: "$(JWT_KEY_FROM_VOLUME)"⟦N|placeholders|k8s dependent env var expansion⟧
            - name: LOG_LEVEL
              value: info
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
""", cfg_sum=hexs(64), digest=hexs(64), api_token=alnum(40), sess=strong(48, sym="-_.~"))

# 5. k8s Secret (+ TLS secret with >3000-char base64 line) ----------------
db_pw_k8s = human()
api_key_k8s = alnum(32)
emit("k8s/billing/secret.yaml", r"""
apiVersion: v1
kind: Secret
metadata:
  name: billing-db
  namespace: payments
type: Opaque
data:
  username: @@user_b64@@⟦N|encoded|base64 username⟧
  host: @@host_b64@@⟦N|encoded|base64 hostname⟧
  password: @@pw_b64@@⟦P|encoded|base64 DB password in Secret data⟧
  api-key: @@api_b64@@⟦P|encoded|base64 API key in Secret data⟧
---
apiVersion: v1
kind: Secret
metadata:
  name: billing-api-tls
  namespace: payments
type: kubernetes.io/tls
data:
  tls.crt: @@crt_b64@@⟦N|encoded|base64 public certificate⟧
  tls.key: @@key_b64@@⟦P|encoded|base64 of a 4096-bit PEM private key (line > 3000 chars)⟧
""", user_b64=b64(b"billing_app"), host_b64=b64(b"billing-db.payments.svc.cluster.local"),
     pw_b64=b64(db_pw_k8s.encode()), api_b64=b64(api_key_k8s.encode()),
     crt_b64=b64(cert().encode()), key_b64=b64(rsa_pkcs8_4096().encode()))

# 6. SealedSecret ---------------------------------------------------------
emit("k8s/billing/sealed-secret.yaml", r"""
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: billing-stripe
  namespace: payments
spec:
  encryptedData:
    stripe-secret-key: @@s1@@⟦N|encoded|SealedSecret encrypted value⟧
    webhook-secret: @@s2@@⟦N|encoded|SealedSecret encrypted value⟧
  template:
    metadata:
      name: billing-stripe
      namespace: payments
    type: Opaque
""", s1=sealed_blob(560), s2=sealed_blob(540))

# 7. kubeconfig -----------------------------------------------------------
emit("deploy/kube/kubeconfig-staging.yaml", r"""
apiVersion: v1
kind: Config
clusters:
  - name: staging-eks
    cluster:
      server: https://4F1C2A9B7E3D5A60C8B1.gr7.eu-west-1.eks.amazonaws.com
      certificate-authority-data: @@ca@@⟦N|encoded|cluster CA certificate⟧
contexts:
  - name: staging
    context:
      cluster: staging-eks
      user: ci-admin
      namespace: ci
current-context: staging
preferences: {}
users:
  - name: ci-admin
    user:
      client-certificate-data: @@ccert@@⟦N|encoded|client certificate (public)⟧
      client-key-data: @@ckey@@⟦P|encoded|kubeconfig client-key-data (base64 RSA key)⟧
  - name: deployer-sa
    user:
      token: @@jwt@@⟦P|encoded|kubeconfig service account token (JWT)⟧
  - name: aws-iam
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: aws
        args: ["eks", "get-token", "--cluster-name", "staging-eks"]
""", ca=b64(cert().encode()), ccert=b64(cert().encode()), ckey=b64(rsa_pkcs1_2048().encode()),
     jwt=k8s_sa_jwt())

# 8. docker config.json ----------------------------------------------------
emit("deploy/docker/config.json", r"""
{
  "auths": {
    "registry.acme-corp.net": {
      "auth": "@@a1@@"⟦P|encoded|docker config auth base64(user:password)⟧
    },
    "registry.gitlab.com": {
      "auth": "@@a2@@"⟦P|encoded|docker config auth base64(user:glpat token)⟧
    },
    "https://index.docker.io/v1/": {}
  },
  "credHelpers": {
    "381492650127.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"
  },
  "credsStore": "desktop"
}
""", a1=b64(("ci-deployer:" + human()).encode()),
     a2=b64(("gitlab-ci-token:glpat-" + gen(lambda: rs(20, ALNUM + "-_"))).encode()))

# 9. Helm values -----------------------------------------------------------
emit("helm/storefront/values-prod.yaml", r"""
replicaCount: 4

image:
  repository: ghcr.io/acme-corp/storefront
  tag: "1.42.0"
  pullPolicy: IfNotPresent

postgresql:
  enabled: false
  auth:
    username: storefront
    existingSecret: storefront-db⟦N|split-lines|existingSecret reference⟧
    secretKeys:
      adminPasswordKey: postgres-password⟦N|split-lines|key name, not a value⟧

secrets:
  smtpPassword:
    value: "@@smtp@@"⟦P|split-lines|block header smtpPassword, child value⟧
  stripeWebhookSecret:
    value: "@@whsec@@"⟦P|split-lines|block header stripeWebhookSecret, child value⟧
  passwordMinLength:
    value: 12⟦N|split-lines|passwordMinLength number⟧
  oauthTokenUrl:
    value: https://auth.acme-corp.net/oauth2/token⟦N|split-lines|token URL endpoint⟧

jenkins:
  controller:
    adminUser: admin
    adminPassword: "@@jadm@@"⟦P|misjudged-values|40-hex value under adminPassword⟧

auth:
  passwordHash: "@@bcrypt@@"⟦N|misjudged-values|bcrypt hash named as hash⟧

ingress:
  enabled: true
  hosts:
    - host: shop.acme-corp.net
      paths: ["/"]
""", smtp=human(), whsec=whsec(), jadm=hexs(40),
     bcrypt="$2b$12$" + rs(53, "./" + ALNUM))

# 10. Helm chart template ------------------------------------------------
emit("helm/storefront/templates/secret.yaml", r"""
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "storefront.fullname" . }}
  labels:
    {{- include "storefront.labels" . | nindent 4 }}
type: Opaque
data:
  db-password: {{ .Values.postgresql.auth.password | b64enc | quote }}⟦N|placeholders|helm template expression⟧
  session-secret: {{ randAlphaNum 48 | b64enc | quote }}⟦N|placeholders|helm randAlphaNum⟧
  search-api-key: {{ .Values.search.apiKey | default "@@helmdef@@" | b64enc | quote }}⟦P|placeholders|real literal as helm default⟧
""", helmdef=alnum(32))

# 11. ARM parameters -----------------------------------------------------
emit("azure/arm/orders-sql.parameters.prod.json", r"""
{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "sqlServerName": {
      "value": "sql-orders-prod-weu"
    },
    "administratorLogin": {
      "value": "sqladmin"
    },
    "administratorLoginPassword": {
      "value": "@@sqlpw@@"⟦P|split-lines|ARM parameter administratorLoginPassword, value on next line⟧
    },
    "storageAccountKey": {
      "value": "@@stkey@@"⟦P|split-lines|ARM parameter storageAccountKey, value on next line⟧
    },
    "reportingDbPassword": {
      "reference": {
        "keyVault": {
          "id": "/subscriptions/@@sub@@/resourceGroups/rg-shared-prod/providers/Microsoft.KeyVault/vaults/kv-shared-prod"
        },
        "secretName": "reporting-db-password"⟦N|split-lines|Key Vault reference⟧
      }
    },
    "passwordPolicyMinLength": {
      "value": 14⟦N|split-lines|password policy length⟧
    },
    "tenantId": {
      "value": "@@tenant@@"⟦N|split-lines|tenant UUID⟧
    }
  }
}
""", sqlpw=strong(22), stkey=b64(rbytes(64)), sub=ruuid(), tenant=ruuid())

# 12. ECS task definition -------------------------------------------------
emit("ecs/orders-api.taskdef.json", r"""
{
  "family": "orders-api",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "512",
  "memory": "1024",
  "executionRoleArn": "arn:aws:iam::381492650127:role/ecsTaskExecutionRole",
  "containerDefinitions": [
    {
      "name": "orders-api",
      "image": "381492650127.dkr.ecr.eu-west-1.amazonaws.com/orders-api@sha256:@@digest@@",⟦N|token-formats|image digest⟧
      "essential": true,
      "portMappings": [
        {
          "containerPort": 8080,
          "protocol": "tcp"
        }
      ],
      "environment": [
        {
          "name": "DB_PASSWORD",
          "value": "@@dbpw@@"⟦P|split-lines|ECS environment DB_PASSWORD, value on next line⟧
        },
        {
          "name": "TOKEN_URL",
          "value": "https://auth.acme-corp.net/oauth2/token"⟦N|split-lines|TOKEN_URL endpoint⟧
        },
        {
          "name": "PAYMENT_GATEWAY_API_KEY",
          "value": "@@pgkey@@"⟦P|split-lines|ECS environment PAYMENT_GATEWAY_API_KEY⟧
        },
        {
          "name": "SESSION_TIMEOUT_SECONDS",
          "value": "1800"
        }
      ],
      "secrets": [
        {
          "name": "JWT_SECRET",
          "valueFrom": "arn:aws:secretsmanager:eu-west-1:381492650127:secret:prod/orders/jwt-@@arnsfx@@"⟦N|split-lines|Secrets Manager ARN reference⟧
        }
      ],
      "logConfiguration": {
        "logDriver": "awslogs",
        "options": {
          "awslogs-group": "/ecs/orders-api",
          "awslogs-region": "eu-west-1",
          "awslogs-stream-prefix": "ecs"
        }
      }
    }
  ]
}
""", digest=hexs(64), dbpw=human(), pgkey=alnum(32), arnsfx=alnum(6))

# 13. docker-compose ------------------------------------------------------
mysql_root = urlsafe_pw(22)
emit("docker-compose.yml", r"""
services:
  redis:
    image: redis:7.2-alpine
    command: ["redis-server", "--appendonly", "yes", "--requirepass", "@@redispw@@"]⟦P|command-lines|compose command array --requirepass⟧
    ports:
      - "6379:6379"

  redis-replica:
    image: redis:7.2-alpine
    command: ["redis-server", "--replicaof", "redis", "6379", "--masterauth", "${REDIS_PASSWORD}"]⟦N|command-lines|--masterauth with env reference⟧

  db:
    image: mysql:8.0
    environment:
      MYSQL_ROOT_PASSWORD: ${MYSQL_ROOT_PASSWORD:-@@mysqlroot@@}⟦P|placeholders|real default inside ${VAR:-default}⟧
      MYSQL_DATABASE: shop
    healthcheck:
      test: ["CMD", "mysqladmin", "ping", "-h", "localhost", "-uroot", "-p@@mysqlroot@@"]⟦P|command-lines|mysqladmin -p<password> in healthcheck array⟧
      interval: 10s
      retries: 5
    ports:
      - "3306:3306"

  mongo:
    image: mongo:7
    command: ["mongod", "--auth", "--keyFile", "/etc/mongo/keyfile"]⟦N|command-lines|--keyFile path⟧

  web:
    build: .
    command: ["gunicorn", "-w", "4", "-b", "0.0.0.0:8000", "shop.wsgi"]
    environment:
      DATABASE_URL: mysql://shop:${SHOP_DB_PASSWORD}@db:3306/shop⟦N|urls|URL with env reference as password⟧
      CACHE_URL: redis://redis:6379/1⟦N|urls|URL without credentials⟧
    ports:
      - "8000:8000"
    depends_on:
      - db
      - redis
""", redispw=urlsafe_pw(32), mysqlroot=mysql_root)

# 14. deploy.sh -----------------------------------------------------------
emit("scripts/deploy.sh", r"""
#!/usr/bin/env bash
set -euo pipefail

DB_HOST="${DB_HOST:-orders-db.internal}"
DB_PASSWORD="${DB_PASSWORD:-@@dbdef@@}"⟦P|placeholders|real default inside ${DB_PASSWORD:-...}⟧
REGISTRY=registry.acme-corp.net
TAG="${1:?usage: deploy.sh <tag>}"

echo "==> logging in to $REGISTRY"
docker login -u ci-deployer -p @@dockerpw@@ "$REGISTRY"⟦P|command-lines|docker login -p⟧
docker login -u "$CI_REGISTRY_USER" --password-stdin "$REGISTRY" < /run/secrets/registry_pass⟦N|command-lines|--password-stdin⟧

echo "==> running schema migrations"
mysql -h "$DB_HOST" -uroot -p@@mysqlpw@@ orders < migrations/latest.sql⟦P|command-lines|mysql -uroot -p<password>⟧
mysql -h "$DB_HOST" -u root -p"$MYSQL_ROOT_PASSWORD" -e 'SELECT 1'⟦N|command-lines|mysql -p with variable⟧

echo "==> pushing static assets"
sshpass -p '@@sshpw@@' rsync -az dist/ deploy@10.20.4.15:/srv/www/storefront/⟦P|command-lines|sshpass -p⟧
ssh -p 2222 deploy@10.20.4.15 'sudo systemctl reload nginx'⟦N|command-lines|ssh -p port⟧

echo "==> starting container"
docker run -d --name orders-api -p 8080:80 "$REGISTRY/orders-api:$TAG"⟦N|command-lines|docker run -p port mapping⟧

if grep -qw password config/*.yml; then⟦N|command-lines|grep -w password⟧
  echo "warning: plaintext password key found in config" >&2
fi
""", dbdef=strong(20, sym="-_.@%+^"), dockerpw=urlsafe_pw(28), mysqlpw=strong(18, sym="-_.@%+^"),
     sshpw=human(sym="!#%*-_.@+"))

# 15. backup.sh -----------------------------------------------------------
emit("scripts/backup.sh", r"""
#!/bin/sh
# nightly backup of the orders database, run from cron on backup-01
set -e

aws configure set aws_access_key_id "$(cat /etc/backup/aws_key_id)"⟦N|placeholders|$(cat file) substitution⟧
aws configure set aws_secret_access_key @@awssec@@⟦P|command-lines|aws configure set aws_secret_access_key⟧
aws configure set region eu-west-1

pg_dump -h orders-db.internal -p 5432 -U backup orders | gzip > /tmp/orders.sql.gz⟦N|command-lines|pg_dump -p port⟧
aws s3 cp /tmp/orders.sql.gz "s3://acme-backups/orders/$(date +%F).sql.gz"

curl -fsS -u backup-bot:@@curlpw@@ -T /tmp/orders.sql.gz https://nexus.acme-corp.net/repository/backups/⟦P|command-lines|curl -u user:password⟧
curl -fsS -X POST -H "Authorization: Bearer @@bearer@@" -H "Content-Type: application/json" -d '{"status":"ok"}' https://status.acme-corp.net/api/v1/heartbeat/backup⟦P|command-lines|curl -H Authorization: Bearer⟧
curl -fsS -H "Authorization: Bearer $HEALTHCHECK_TOKEN" https://hc.acme-corp.net/ping/@@hcid@@⟦N|command-lines|Bearer with variable⟧
rm -f /tmp/orders.sql.gz
""", awssec=aws_secret(), curlpw=urlsafe_pw(24), bearer=gen(lambda: rs(48, ALNUM + "-_")), hcid=ruuid())

# 16. GitHub Actions --------------------------------------------------------
emit(".github/workflows/deploy.yml", r"""
name: deploy

on:
  push:
    branches: [main]

env:
  REGISTRY: ghcr.io

jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      packages: write
    steps:
      - uses: actions/checkout@@@checkout_sha@@ # v4.1.1⟦N|token-formats|pinned action git SHA⟧
      - name: Log in to GHCR
        run: echo "${{ secrets.GHCR_TOKEN }}" | docker login ghcr.io -u acme-bot --password-stdin⟦N|command-lines|--password-stdin with secrets context⟧
      - name: Build and publish
        env:
          NPM_TOKEN: ${{ secrets.NPM_TOKEN || '@@npmfallback@@' }}⟦P|placeholders|real literal as fallback in expression⟧
        run: npm ci && npm run build && npm publish
      - name: Upload sourcemaps
        run: sentry-cli sourcemaps upload ./dist --auth-token ${{ secrets.SENTRY_AUTH_TOKEN }}⟦N|placeholders|secrets context expression⟧
      - name: Notify Slack
        env:
          SLACK_BOT_TOKEN: @@xoxb@@⟦P|token-formats|Slack legacy xoxb token⟧
          SLACK_CHANNEL: "#deploys"
        run: ./scripts/notify.sh "storefront ${{ github.sha }} deployed"
""", checkout_sha=hexs(40), npmfallback=npm_token(), xoxb=slack_xoxb_legacy())

# 17. GitLab CI -------------------------------------------------------------
emit(".gitlab-ci.yml", r"""
stages:
  - build
  - publish
  - deploy

variables:
  DOCKER_DRIVER: overlay2
  POSTGRES_PASSWORD: $CI_POSTGRES_PASSWORD⟦N|placeholders|CI variable reference⟧

build:
  stage: build
  image: python:3.12-slim
  script:
    - pip install build
    - python -m build

publish:
  stage: publish
  image: python:3.12-slim
  script:
    - echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc⟦N|inline-assignments|_authToken=${VAR}⟧
    - export TWINE_USERNAME=__token__ && export TWINE_PASSWORD=@@pypi@@ && twine upload dist/*⟦P|inline-assignments|export TWINE_PASSWORD=<pypi token> inside script item⟧
    - curl --fail -u "ci:@@nexuspw@@" -T dist/*.whl https://nexus.acme-corp.net/repository/pypi-internal/⟦P|command-lines|curl -u user:password⟧

deploy:
  stage: deploy
  script:
    - sshpass -p "$DEPLOY_SSH_PASS" ssh -o StrictHostKeyChecking=no deploy@10.20.4.12 './restart.sh'⟦N|command-lines|sshpass -p with variable⟧
  only:
    - main
""", pypi=pypi_token(), nexuspw=urlsafe_pw(26))

# 18. application log -------------------------------------------------------
emit("logs/orders-api-2024-03-11.log", r"""
2024-03-11T09:14:01.902Z [INFO] orders-api starting version=2.14.3 commit=@@commit@@⟦N|inline-assignments|commit=<git sha>⟧
2024-03-11T09:14:02.118Z [INFO] loading configuration from /etc/orders/app.env
2024-03-11T09:14:02.120Z [INFO] using DB_PASSWORD=@@dbpw@@ for pool primary (max=20)⟦P|inline-assignments|DB_PASSWORD= in log line⟧
2024-03-11T09:14:02.121Z [INFO] SECRET_KEY=**** (masked)⟦N|placeholders|masked value⟧
2024-03-11T09:14:02.124Z [DEBUG] cache client configured REDIS_URL=rediss://:@@redispw@@@orders-cache.x7k2qp.euw1.cache.amazonaws.com:6379/0⟦P|urls|rediss:// URL with empty user and password⟧
2024-03-11T09:14:02.130Z [INFO] TOKEN_TTL=3600 REFRESH_TOKEN_TTL=1209600⟦N|inline-assignments|token TTL numbers⟧
2024-03-11T09:14:02.131Z [DEBUG] starting metrics exporter with API_KEY=@@apikey@@ region=eu-west-1⟦P|inline-assignments|API_KEY= in log line⟧
2024-03-11T09:14:03.550Z [INFO] request_id=@@rid@@ GET /healthz 200 1ms⟦N|inline-assignments|request_id UUID⟧
2024-03-11T09:14:05.004Z [DEBUG] spawn worker argv=["/usr/bin/mailer","--queue","outbound"] env=SMTP_HOST=smtp.mailgun.org SMTP_PASSWORD=@@smtppw@@ SMTP_PORT=587⟦P|inline-assignments|SMTP_PASSWORD= in middle of log line⟧
2024-03-11T09:14:05.010Z [WARN] PASSWORD_MAX_AGE_DAYS=90 is below the recommended value⟦N|inline-assignments|password policy number⟧
2024-03-11T09:15:12.441Z [INFO] user login ok user_id=88123 session_id=@@sid@@
2024-03-11T09:16:40.007Z [ERROR] upstream payments-gw timeout after 3000ms attempt=2
""", commit=hexs(40), dbpw=strong(20, sym="-_.@%+^"), redispw=urlsafe_pw(32), apikey=alnum(32),
     rid=ruuid(), smtppw=urlsafe_pw(20), sid=ruuid())

# 19. nginx access log -------------------------------------------------------
emit("logs/nginx/access.log", r"""
10.0.3.17 - - [11/Mar/2024:09:20:11 +0000] "GET /api/v1/export/orders.csv?api_key=@@ak@@&from=2024-03-01 HTTP/1.1" 200 18233 "-" "python-requests/2.31.0"⟦P|urls|api_key in query string⟧
10.0.3.17 - - [11/Mar/2024:09:20:14 +0000] "GET /api/v1/orders?page=2&per_page=50&sort=updated_at HTTP/1.1" 200 5120 "-" "python-requests/2.31.0"⟦N|urls|plain query parameters⟧
172.16.8.4 - - [11/Mar/2024:09:21:02 +0000] "GET /oauth/authorize?response_type=code&client_id=storefront-web&code_challenge=@@cc@@&code_challenge_method=S256&state=@@st@@ HTTP/2.0" 302 0 "https://shop.acme-corp.net/" "Mozilla/5.0 (X11; Linux x86_64)"⟦N|urls|PKCE code_challenge and state⟧
172.16.8.4 - - [11/Mar/2024:09:21:05 +0000] "GET /api/v1/stream?access_token=@@at@@&channel=orders HTTP/2.0" 101 0 "-" "Mozilla/5.0 (X11; Linux x86_64)"⟦P|urls|access_token in query string⟧
10.0.3.22 - - [11/Mar/2024:09:22:30 +0000] "GET /api/v1/export/orders.csv?api_key=REDACTED&from=2024-03-01 HTTP/1.1" 401 52 "-" "curl/8.5.0"⟦N|placeholders|redacted api_key⟧
10.0.3.22 - - [11/Mar/2024:09:22:31 +0000] "GET /docs/auth?token_type=bearer&expires_in=3600 HTTP/1.1" 200 912 "-" "curl/8.5.0"⟦N|urls|token_type and expires_in parameters⟧
10.0.3.17 - - [11/Mar/2024:09:23:00 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"
""", ak=alnum(40), cc=b64url_nopad(rbytes(32)), st=hexs(16), at=gen(lambda: rs(64, ALNUM + "-_")))

# 20. README ----------------------------------------------------------------
emit("README.md", r"""
# storefront

Customer-facing shop built on Django and a small Node asset pipeline.

## Local setup

Start the dependencies with `docker compose up -d`, then run the migrations:

```console
$ DB_PASSWORD=@@dbpw@@ ./manage.py migrate⟦P|inline-assignments|DB_PASSWORD= after shell prompt in fenced block⟧
$ ./manage.py runserver 0.0.0.0:8000
```

Search indexing uses the shared staging index; if you need to reindex by hand, run `export ALGOLIA_ADMIN_KEY=@@algolia@@` in your shell and then `make reindex`.⟦P|inline-assignments|export KEY=value inside prose⟧

## Running the container

```bash
export API_KEY=<your-api-key>⟦N|placeholders|angle-bracket placeholder⟧
export KUBECONFIG=$HOME/.kube/staging⟦N|inline-assignments|path assignment⟧
docker run -p 8080:80 -e API_KEY="$API_KEY" storefront:dev⟦N|command-lines|docker run -p port⟧
```

## Housekeeping

Before opening a PR, check for leftover credentials with `git grep -nw password -- '*.yml'`.⟦N|command-lines|grep -w password⟧
""", dbpw=urlsafe_pw(20), algolia=hexs(32))

# 21. onboarding guide (docs samples with fillers) ---------------------------
emit("guides/onboarding.md", r"""
# Developer onboarding

## AWS

Configure a profile with the keys IT sends you. The values below are the
placeholders from the AWS documentation:

```bash
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE⟦N|placeholders|AWS documentation key id⟧
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY⟦N|placeholders|AWS documentation secret⟧
```

## Sourcegraph

Create an access token under *Settings → Access tokens*. It looks like
`sgp_0000000000000000_0000000000000000000000000000000000000000`.⟦N|token-formats|zero-filled sourcegraph token⟧

## Slack

The bot token has the form `xoxb-000000000000-xxxxxxxxxxxxxxxxxxxxxxxx`.⟦N|token-formats|filler slack token⟧

## Calling the API

```bash
curl -H "Authorization: Bearer <your-token>" https://api.acme-corp.net/v1/me⟦N|placeholders|bearer placeholder⟧
curl -u admin:******** https://nexus.acme-corp.net/service/rest/v1/status⟦N|command-lines|masked curl -u password⟧
```

Shared blobs are served with SAS links such as
`https://acmeprodassets.blob.core.windows.net/exports/file.csv?sv=2022-11-02&sp=r&sig=XXXXXXXXXXXXXXXXXXXXXXXX`.⟦N|urls|SAS link with filler signature⟧
""")

# 22. Django settings -------------------------------------------------------
emit("src/shop/settings.py", r"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]⟦N|placeholders|environment lookup⟧
DEBUG = os.getenv("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = ["shop.acme-corp.net", "localhost"]

SIMPLE_JWT = {
    "SIGNING_KEY": SECRET_KEY,⟦N|placeholders|reference to SECRET_KEY⟧
    "ACCESS_TOKEN_LIFETIME_SECONDS": 900,
}

EMAIL_HOST = "smtp.mailgun.org"
EMAIL_HOST_USER = "postmaster@mg.acme-corp.net"
EMAIL_HOST_PASSWORD = os.getenv("SMTP_PASSWORD", "@@smtpdef@@")⟦P|placeholders|real default in os.getenv⟧

CELERY_BROKER_URL = "rediss://:@@brokerpw@@@broker.acme-corp.net:6380/0?ssl_cert_reqs=required"⟦P|urls|rediss:// URL with empty user and password⟧

GEOCODER_URL = "https://geo.acme-corp.net/v2/lookup?api_key=@@geokey@@&format=json"⟦P|urls|api_key in query string⟧
OAUTH_TOKEN_URL = "https://auth.acme-corp.net/oauth2/token"


def database_url(settings):
    return f"postgres://shop:{settings.DB_PASSWORD}@orders-db.internal:5432/shop"⟦N|urls|f-string reference as password⟧
""", smtpdef=human(), brokerpw=urlsafe_pw(30), geokey=alnum(32))

# 23. upload.js -------------------------------------------------------------
emit("src/web/upload.js", r"""
// Upload helpers for the back-office UI.
const TOKEN_URL = "https://oauth2.googleapis.com/token";⟦N|urls|token URL endpoint⟧

// presigned link generated by ops for the March invoice backfill (valid 7 days)
const BACKFILL_URL =
  "https://acme-prod-exports.s3.eu-west-1.amazonaws.com/invoices/2024/03/inv-88412.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=@@akid@@%2F20240311%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20240311T101500Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=@@s3sig@@";⟦P|urls|S3 presigned URL (X-Amz-Credential + X-Amz-Signature)⟧

const REPORTS_SAS_URL = "https://acmeprodassets.blob.core.windows.net/exports/report-2024-03.csv?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2025-06-30T23:59:59Z&st=2024-03-01T00:00:00Z&spr=https&sig=@@sassig@@";⟦P|urls|Azure SAS URL with sig⟧

const SAS_TEMPLATE = "https://acmeprodassets.blob.core.windows.net/exports/{name}?sv=2022-11-02&sp=r&sig={signature}";⟦N|urls|SAS template with placeholder⟧

const SPINNER = "@@png@@";⟦N|encoded|base64 PNG data URI⟧

export async function geocode(q) {
  const res = await fetch(`https://maps.acme-corp.net/api/geocode?q=${encodeURIComponent(q)}&api_key=${process.env.MAPS_API_KEY}`);⟦N|urls|template literal env reference⟧
  return res.json();
}

export async function downloadBackfill() {
  return fetch(BACKFILL_URL);
}
""", akid=aws_key_id(), s3sig=hexs(64), sassig=azure_sas_sig(), png=png_data_uri())

# 24. Java properties -------------------------------------------------------
emit("config/application-prod.properties", r"""
# Production overrides for orders-service
spring.application.name=orders
server.port=8080
spring.datasource.url=jdbc:postgresql://orders-db.internal:5432/orders
spring.datasource.username=orders_app
spring.datasource.password=${DB_PASSWORD}⟦N|placeholders|property placeholder⟧
db.password==@@dbpw@@⟦P|misjudged-values|properties value beginning with '='⟧
mail.smtp.host=smtp.mailgun.org
mail.smtp.username=postmaster@mg.acme-corp.net
mail.smtp.password==@@smtppw@@⟦P|misjudged-values|properties value beginning with '='⟧
ldap.bind.dn=cn=svc-orders,ou=services,dc=acme-corp,dc=net
ldap.bind.password=@@ldappw@@⟦P|misjudged-values|40-hex value under password key⟧
spring.rabbitmq.username=orders
spring.rabbitmq.password=@@rabbitpw@@⟦P|misjudged-values|32-hex value under password key⟧
app.admin.password.sha256=@@adminsha@@⟦N|misjudged-values|hash named as hash⟧
security.password.min-length=12⟦N|misjudged-values|password policy number⟧
app.jwt.public-key-location=classpath:keys/jwt-public.pem⟦N|placeholders|path reference⟧
app.reporting.datasource.password=${REPORTING_DB_PASSWORD:@@repdef@@}⟦P|placeholders|real default inside ${VAR:default}⟧
""", dbpw=strong(18, sym="-_.@%+^!"), smtppw=alnum(22), ldappw=hexs(40), rabbitpw=hexs(32),
     adminsha=hexs(64), repdef=strong(20, sym="-_.@%+^"))

# 25. .env.production --------------------------------------------------------
emit(".env.production", r"""
# generated by the deploy pipeline on 2024-03-08
NODE_ENV=production
PORT=3000
GIT_COMMIT=@@gitc@@⟦N|misjudged-values|git commit SHA⟧
BUILD_SHA256=@@bsha@@⟦N|misjudged-values|build checksum⟧
DATABASE_URL=postgres://app:${DB_PASSWORD}@orders-db.internal:5432/app⟦N|urls|URL with ${VAR} password⟧
REDIS_PASSWORD=@@redis@@⟦P|misjudged-values|40-hex value under REDIS_PASSWORD⟧
SENTRY_AUTH_TOKEN=@@sentry@@⟦P|token-formats|Sentry org auth token sntrys_⟧
PASSWORD_RESET_TOKEN_TTL=3600⟦N|misjudged-values|TTL number under token-ish name⟧
SESSION_COOKIE_SECURE=true
""", gitc=hexs(40), bsha=hexs(64), redis=hexs(40), sentry=sentry_org_token("acme-corp", "us"))

# 26. .env.example ------------------------------------------------------------
emit(".env.example", r"""
# Copy to .env and fill in real values. Never commit .env.
SLACK_BOT_TOKEN=xoxb-your-bot-token⟦N|placeholders|your-... placeholder⟧
HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx⟦N|placeholders|x-filled HF token⟧
DATABRICKS_TOKEN=dapi1234567890abcdef1234567890abcdef⟦N|placeholders|sequential-filler databricks token⟧
API_SECRET=abcdefghijklmnopqrstuvwxyz012345⟦N|placeholders|alphabet filler⟧
SESSION_SECRET=a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4⟦N|placeholders|a1b2c3d4 filler⟧
DB_PASSWORD=<your-db-password>⟦N|placeholders|angle-bracket placeholder⟧
GRAFANA_TOKEN=glsa_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX_00000000⟦N|token-formats|X-filled grafana token⟧
STRIPE_WEBHOOK_SECRET=@@whsec@@⟦P|placeholders|real value left among placeholders⟧
SMTP_PASSWORD=
""", whsec=whsec())

# 27. Jenkins credentials.xml -------------------------------------------------
emit("jenkins/credentials.xml", r"""
<?xml version='1.1' encoding='UTF-8'?>
<com.cloudbees.plugins.credentials.SystemCredentialsProvider plugin="credentials@1319.v7eb_51b_3a_c97b_">
  <domainCredentialsMap class="hudson.util.CopyOnWriteMap$Hash">
    <entry>
      <com.cloudbees.plugins.credentials.domains.Domain>
        <specifications/>
      </com.cloudbees.plugins.credentials.domains.Domain>
      <java.util.concurrent.CopyOnWriteArrayList>
        <com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>
          <scope>GLOBAL</scope>
          <id>@@cid@@</id>⟦N|token-formats|credential id UUID⟧
          <description>nexus deploy user</description>
          <username>nexus-deployer</username>
          <password>@@j1@@</password>⟦P|token-formats|Jenkins encrypted secret {AQAAABAAAA...}⟧
          <usernameSecret>false</usernameSecret>
        </com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>
        <org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>
          <scope>GLOBAL</scope>
          <id>github-api-token</id>
          <description>GitHub token for PR status</description>
          <secret>@@j2@@</secret>⟦P|token-formats|Jenkins encrypted secret {AQAAABAAAA...}⟧
        </org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>
      </java.util.concurrent.CopyOnWriteArrayList>
    </entry>
  </domainCredentialsMap>
</com.cloudbees.plugins.credentials.SystemCredentialsProvider>
""", cid=ruuid(), j1=jenkins_secret(20), j2=jenkins_secret(40))

# 28. Dockerfile ---------------------------------------------------------------
emit("Dockerfile", r"""
# syntax=docker/dockerfile:1.6
FROM node:20.11-alpine@sha256:@@digest@@ AS build⟦N|token-formats|base image digest⟧
ARG NPM_TOKEN⟦N|placeholders|build arg declaration⟧
WORKDIR /app
COPY package*.json ./
RUN echo "@acme:registry=https://npm.pkg.github.com" > .npmrc && echo "//registry.npmjs.org/:_authToken=@@npm@@" >> .npmrc && npm ci⟦P|inline-assignments|_authToken=<npm token> inside RUN⟧
RUN --mount=type=secret,id=gh_token GITHUB_TOKEN=$(cat /run/secrets/gh_token) npm run fetch-assets⟦N|placeholders|$(cat secret file)⟧
COPY . .
RUN npm run build

FROM nginx:1.25-alpine
COPY --from=build /app/dist /usr/share/nginx/html
ENV NODE_ENV=production PORT=8080⟦N|inline-assignments|non-secret ENV assignments⟧
EXPOSE 8080
""", digest=hexs(64), npm=npm_token())

# 29. Grafana + Cloudflare providers ----------------------------------------------
emit("ops/observability/providers.tf", r"""
terraform {
  required_providers {
    grafana = {
      source  = "grafana/grafana"
      version = ">= 2.9.0"
    }
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 4.0"
    }
  }
}

provider "grafana" {
  alias                     = "cloud"
  cloud_access_policy_token = "@@glc@@"⟦P|token-formats|Grafana cloud access policy token glc_⟧
}

provider "grafana" {
  alias = "stack"
  url   = "https://acmecorp.grafana.net"
  auth  = "@@glsa@@"⟦P|token-formats|Grafana service account token glsa_⟧
}

provider "cloudflare" {
  api_user_service_key = "@@cfca@@"⟦P|token-formats|Cloudflare origin CA key v1.0-⟧
}

resource "cloudflare_origin_ca_certificate" "origin" {
  csr                = tls_cert_request.origin.cert_request_pem⟦N|placeholders|resource reference⟧
  hostnames          = ["shop.acme-corp.net"]
  request_type       = "origin-rsa"
  requested_validity = 5475
}

resource "cloudflare_record" "shop" {
  zone_id = "@@zone@@"⟦N|token-formats|Cloudflare zone id (32 hex)⟧
  name    = "shop"
  type    = "CNAME"
  value   = "storefront-prod.eu-west-1.elb.amazonaws.com"
  proxied = true
}
""", glc=glc(str(rng.randint(1000000, 1999999)), "acmecorp-terraform-provisioner", "prod-eu-west-2"),
     glsa=glsa(), cfca=cf_origin_ca(), zone=hexs(32))

# 30. 1Password env ---------------------------------------------------------------
emit("ops/1password/op.env", r"""
# 1Password service account for the ci-secrets vault (read-only)
OP_SERVICE_ACCOUNT_TOKEN=@@ops@@⟦P|token-formats|1Password service account token ops_⟧
OP_VAULT=ci-secrets
OP_CONNECT_HOST=http://op-connect.internal:8080
""", ops=ops_token())

# 31. databricks cfg ---------------------------------------------------------------
emit("ops/databricks/.databrickscfg", r"""
[DEFAULT]
host  = https://adb-4829173650214837.7.azuredatabricks.net
token = @@d1@@⟦P|token-formats|Databricks PAT dapi⟧

[staging]
host       = https://adb-3390218847561209.9.azuredatabricks.net
token      = @@d2@@⟦P|token-formats|Databricks PAT dapi with -N suffix⟧
cluster_id = 0311-094512-@@cl@@⟦N|token-formats|cluster id⟧
""", d1=dapi(), d2=dapi("-2"), cl=gen(lambda: rs(8, LO + DG)))

# 32. Slack token rotation ------------------------------------------------------------
emit("tools/slack_rotate.py", r'''
"""Rotate the Slack app configuration tokens nightly (cron on ops-01)."""
import json
import requests

CONFIG_ACCESS_TOKEN = "@@xoxe_a@@"⟦P|token-formats|Slack config access token xoxe.xoxp-1-⟧
CONFIG_REFRESH_TOKEN = "@@xoxe_r@@"⟦P|token-formats|Slack config refresh token xoxe-1-⟧
TOKEN_ROTATE_URL = "https://slack.com/api/tooling.tokens.rotate"⟦N|urls|token-named endpoint URL⟧


def rotate():
    resp = requests.post(TOKEN_ROTATE_URL, data={"refresh_token": CONFIG_REFRESH_TOKEN}, timeout=10)⟦N|placeholders|reference to constant⟧
    resp.raise_for_status()
    body = resp.json()
    with open("/var/lib/slack-rotate/tokens.json", "w") as fh:
        json.dump({"token": body["token"], "refresh_token": body["refresh_token"]}, fh)


if __name__ == "__main__":
    rotate()
''', xoxe_a=slack_xoxe_config(), xoxe_r=slack_xoxe_refresh())

# 33. HF model download -----------------------------------------------------------------
emit("src/ml/download.py", r'''
"""Fetch the intent classifier weights at container start."""
from huggingface_hub import snapshot_download

from shop import settings

HF_TOKEN = "@@hf@@"⟦P|token-formats|Hugging Face user token hf_⟧
HF_ORG_TOKEN = "@@hforg@@"⟦P|token-formats|Hugging Face org token api_org_⟧
MODEL_REVISION = "@@rev@@"  # pinned commit on the hub⟦N|token-formats|git revision SHA⟧
WEIGHTS_SHA256 = "@@wsha@@"⟦N|misjudged-values|hash named as hash⟧


def fetch(target_dir):
    return snapshot_download(
        repo_id="acme-corp/intent-classifier",
        revision=MODEL_REVISION,
        token=settings.HF_TOKEN,⟦N|placeholders|settings reference⟧
        local_dir=target_dir,
    )
''', hf=hf_token(), hforg=hf_org(), rev=hexs(40), wsha=hexs(64))

# 34. Sourcegraph batch changes ------------------------------------------------------------
emit("scripts/batch-changes.sh", r"""
#!/usr/bin/env bash
# Apply the lockfile bump batch change on our Sourcegraph instance.
set -euo pipefail
export SRC_ENDPOINT=https://sourcegraph.acme-corp.net
export SRC_ACCESS_TOKEN=@@sgp@@⟦P|token-formats|Sourcegraph access token sgp_⟧
src batch apply -f batch/bump-lockfiles.yaml -namespace platform
""", sgp=sgp())

# 35. Notion sync ------------------------------------------------------------------------------
emit("src/integrations/notion_sync.js", r"""
const { Client } = require("@notionhq/client");

// internal integration "release-notes-bot"
const notion = new Client({ auth: "@@ntn@@" });⟦P|token-formats|Notion integration token ntn_⟧
const DATABASE_ID = "@@dbid@@";⟦N|token-formats|Notion database id (32 hex)⟧

async function publish(release) {
  return notion.pages.create({
    parent: { database_id: DATABASE_ID },
    properties: { Name: { title: [{ text: { content: release.tag } }] } },
  });
}

module.exports = { publish };
""", ntn=notion(), dbid=hexs(32))


# ================================================================ write out
def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for path, body in sorted(files.items()):
        full = os.path.join(OUT, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as fh:
            fh.write(body)
        if path.endswith(".sh"):
            os.chmod(full, 0o755)
    key = lambda r: (r["path"], r["line"])
    with open(LABELS_PATH, "w", encoding="utf-8") as fh:
        json.dump({"seed": SEED, "labels": sorted(labels, key=key),
                   "negatives": sorted(negatives, key=key)}, fh, indent=2)
        fh.write("\n")
    print("files:", len(files), "positives:", len(labels), "negatives:", len(negatives))


if __name__ == "__main__":
    main()

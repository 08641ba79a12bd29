"""Credential loading for the GCS sync worker.

Order of precedence:
  1. GOOGLE_APPLICATION_CREDENTIALS (path to a key file), the normal case on GKE/CI;
  2. workload identity / metadata server when running on GCP;
  3. the embedded fallback key below, which only exists for the on-prem sync box.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import google.auth
from google.cloud import storage
from google.oauth2 import service_account

log = logging.getLogger(__name__)

SCOPES = ["https://www.googleapis.com/auth/devstorage.read_write"]
KEY_FILE_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
private_key_id_field = "private_key_id"

# On-prem sync box only (see INFRA-2231). Do not copy this pattern elsewhere.
FALLBACK_SERVICE_ACCOUNT_INFO = ⟦gcp-service-account-key⟧


def _from_file(path: str) -> service_account.Credentials:
    info = json.loads(Path(path).read_text())
    log.info("using key %s for %s", info.get(private_key_id_field, "?")[:8], info.get("client_email"))
    return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)


def load_credentials():
    key_path = os.environ.get(KEY_FILE_ENV)
    if key_path:
        return _from_file(key_path)
    try:
        credentials, project = google.auth.default(scopes=SCOPES)
        log.info("using ambient credentials for project %s", project)
        return credentials
    except google.auth.exceptions.DefaultCredentialsError:
        log.warning("no ambient credentials, falling back to the embedded on-prem key")
        return service_account.Credentials.from_service_account_info(FALLBACK_SERVICE_ACCOUNT_INFO, scopes=SCOPES)


def client() -> storage.Client:
    credentials = load_credentials()
    project = getattr(credentials, "project_id", None) or os.environ.get("GOOGLE_CLOUD_PROJECT")
    return storage.Client(project=project, credentials=credentials)

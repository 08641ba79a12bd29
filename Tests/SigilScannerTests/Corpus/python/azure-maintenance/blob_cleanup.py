#!/usr/bin/env python3
"""Delete old exports from the media and backup storage accounts.

Usage: blob_cleanup.py --days 30 [--dry-run]
"""
import argparse
import logging
from datetime import datetime, timedelta, timezone

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

log = logging.getLogger("blob_cleanup")

MEDIA_ACCOUNT = "stmedia4k2"
MEDIA_ACCOUNT_URL = f"https://{MEDIA_ACCOUNT}.blob.core.windows.net"
# Shared key of stmedia4k2; the account does not have Entra auth enabled yet (STOR-58).
STORAGE_ACCOUNT_KEY = "⟦azure-storage-account-key⟧"

BACKUP_CONNECTION_STRING = "⟦azure-storage-connection-string⟧"

CONTAINERS = {
    "media": ["exports", "thumbnails-tmp"],
    "backups": ["nightly", "adhoc"],
}


def clients():
    media = BlobServiceClient(account_url=MEDIA_ACCOUNT_URL, credential={"account_name": MEDIA_ACCOUNT, "account_key": STORAGE_ACCOUNT_KEY})
    backups = BlobServiceClient.from_connection_string(BACKUP_CONNECTION_STRING)
    return {"media": media, "backups": backups}


def cleanup(service: BlobServiceClient, container: str, cutoff: datetime, dry_run: bool) -> int:
    deleted = 0
    try:
        container_client = service.get_container_client(container)
        for blob in container_client.list_blobs():
            if blob.last_modified >= cutoff:
                continue
            if dry_run:
                log.info("would delete %s/%s (%s)", container, blob.name, blob.last_modified.date())
            else:
                container_client.delete_blob(blob.name, delete_snapshots="include")
            deleted += 1
    except ResourceNotFoundError:
        log.warning("container %s does not exist", container)
    return deleted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    cutoff = datetime.now(timezone.utc) - timedelta(days=args.days)
    total = 0
    for name, service in clients().items():
        for container in CONTAINERS[name]:
            total += cleanup(service, container, cutoff, args.dry_run)
    log.info("%s %d blobs older than %s", "found" if args.dry_run else "deleted", total, cutoff.date())


if __name__ == "__main__":
    main()

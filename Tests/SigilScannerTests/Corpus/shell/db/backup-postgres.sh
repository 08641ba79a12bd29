#!/bin/sh
# Nightly logical backup of the orders database to object storage.
# Installed as /usr/local/bin/backup-postgres on db-backup-01, run by cron at 02:15.
set -eu

DB_HOST="${DB_HOST:-pg-primary.internal}"
DB_NAME="${DB_NAME:-orders}"
DB_USER="backup"
BACKUP_DIR="/var/backups/postgres"
RETENTION_DAYS=14
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
FILE="${BACKUP_DIR}/${DB_NAME}-${STAMP}.dump"

# The password comes from the Docker secret when running in the backup container,
# otherwise from the local ~/.pgpass.
if [ -f /run/secrets/pg_backup_password ]; then
  PGPASSWORD="$(cat /run/secrets/pg_backup_password)"
  export PGPASSWORD
fi

mkdir -p "${BACKUP_DIR}"
pg_dump --host="${DB_HOST}" --username="${DB_USER}" --format=custom --compress=9 --file="${FILE}" "${DB_NAME}"

# The reporting replica is outside the VPN peering, so it still uses a URL with the password.
pg_dump --format=custom --file="${BACKUP_DIR}/reporting-${STAMP}.dump" "⟦url-password-postgres⟧"

sha256sum "${FILE}" > "${FILE}.sha256"
aws s3 cp "${FILE}" "s3://acme-db-backups/${DB_NAME}/" --storage-class STANDARD_IA
aws s3 cp "${FILE}.sha256" "s3://acme-db-backups/${DB_NAME}/"

# Verify the upload against the local checksum
REMOTE_SUM="$(aws s3 cp "s3://acme-db-backups/${DB_NAME}/$(basename "${FILE}")" - | sha256sum | cut -d' ' -f1)"
LOCAL_SUM="$(cut -d' ' -f1 "${FILE}.sha256")"
if [ "${REMOTE_SUM}" != "${LOCAL_SUM}" ]; then
  echo "checksum mismatch for ${FILE}" >&2
  exit 1
fi

find "${BACKUP_DIR}" -name "*.dump*" -mtime +"${RETENTION_DAYS}" -delete

# Legacy MySQL CMS database, still on the old host
MYSQL_PWD='⟦generic-password⟧' mysqldump -h cms-db.internal -u backup --single-transaction cms | gzip > "${BACKUP_DIR}/cms-${STAMP}.sql.gz"

echo "backup ${FILE} ok (sha256 ${LOCAL_SUM})"

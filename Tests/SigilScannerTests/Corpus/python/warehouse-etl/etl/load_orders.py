#!/usr/bin/env python3
"""Nightly job: copy yesterday's orders from the OLTP database into the warehouse.

Run from cron on etl-01:  python -m etl.load_orders --date 2024-05-02
"""
import argparse
import datetime as dt
import logging
import os
import sys

import boto3
import pandas as pd
import sqlalchemy as sa

log = logging.getLogger("etl.load_orders")

SOURCE_URL = os.environ.get("ORDERS_DB_URL")
WAREHOUSE_URL = "⟦url-password-sqlalchemy⟧"

# The export bucket lives in the data account; the role is assumed with these static keys
# because the cron host is outside AWS.
s3 = boto3.client(
    "s3",
    region_name="eu-west-1",
    aws_access_key_id="⟦aws-access-key-id⟧",
    aws_secret_access_key="⟦aws-secret-access-key⟧",
)
EXPORT_BUCKET = "acme-dwh-exports"

QUERY = sa.text(
    """
    SELECT o.id, o.customer_id, o.total_cents, o.currency, o.created_at, c.country
    FROM orders o
    JOIN customers c ON c.id = o.customer_id
    WHERE o.created_at >= :start AND o.created_at < :end
    """
)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.date.today() - dt.timedelta(days=1))
    parser.add_argument("--dry-run", action="store_true")
    return parser.parse_args(argv)


def extract(day: dt.date) -> pd.DataFrame:
    if not SOURCE_URL:
        sys.exit("ORDERS_DB_URL is not set")
    engine = sa.create_engine(SOURCE_URL, pool_pre_ping=True)
    with engine.connect() as conn:
        return pd.read_sql(QUERY, conn, params={"start": day, "end": day + dt.timedelta(days=1)})


def load(frame: pd.DataFrame, day: dt.date, dry_run: bool) -> None:
    key = f"orders/{day:%Y/%m/%d}/orders.parquet"
    path = f"/tmp/orders-{day}.parquet"
    frame.to_parquet(path, index=False)
    if dry_run:
        log.info("dry run: would upload %s rows to s3://%s/%s", len(frame), EXPORT_BUCKET, key)
        return
    s3.upload_file(path, EXPORT_BUCKET, key)
    warehouse = sa.create_engine(WAREHOUSE_URL)
    frame.to_sql("fact_orders", warehouse, schema="staging", if_exists="append", index=False, chunksize=5000)
    log.info("loaded %s rows for %s", len(frame), day)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parse_args(argv or sys.argv[1:])
    frame = extract(args.date)
    if frame.empty:
        log.warning("no orders for %s", args.date)
        return 0
    frame["total"] = frame.pop("total_cents") / 100
    load(frame, args.date, args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Monthly finance export: pulls invoices from the two SQL Server instances into one CSV."""
import csv
import datetime as dt
import os
import sys

import pyodbc

DRIVER = "{ODBC Driver 18 for SQL Server}"

SOURCES = {
    # Azure SQL (new billing)
    "billing": os.environ.get("BILLING_SQL_CONN") or "Driver=" + DRIVER + ";⟦connection-string-password-sqlserver⟧",
    # On-prem SQL Server (legacy invoicing), reachable over the site-to-site VPN
    "legacy": "⟦connection-string-password|Server=sql01.corp.local;Database=Invoicing;Uid=finance_export;Pwd=Rk8#vT2qLm5x;Encrypt=yes;TrustServerCertificate=yes;⟧",
}

QUERY = """
SELECT InvoiceNumber, CustomerId, IssuedOn, Currency, TotalNet, TotalTax
FROM dbo.Invoices
WHERE IssuedOn >= ? AND IssuedOn < ?
ORDER BY IssuedOn
"""


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def export(year: int, month: int, out_path: str) -> int:
    start, end = month_bounds(year, month)
    rows = 0
    with open(out_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source", "invoice", "customer", "issued_on", "currency", "net", "tax"])
        for source, conn_str in SOURCES.items():
            with pyodbc.connect(conn_str, timeout=30) as conn:
                for row in conn.cursor().execute(QUERY, start, end):
                    writer.writerow([source, *row])
                    rows += 1
    return rows


if __name__ == "__main__":
    today = dt.date.today()
    previous = today.replace(day=1) - dt.timedelta(days=1)
    year = int(sys.argv[1]) if len(sys.argv) > 1 else previous.year
    month = int(sys.argv[2]) if len(sys.argv) > 2 else previous.month
    n = export(year, month, f"invoices-{year}-{month:02d}.csv")
    print(f"exported {n} invoices")

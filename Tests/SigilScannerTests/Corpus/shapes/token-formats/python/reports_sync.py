"""Nightly sync of the finance reports: Databricks -> Notion, alerts to Slack, models from the Hub."""
import os

from databricks import sql
from huggingface_hub import HfApi
from notion_client import Client
from slack_sdk import WebClient
from grafana_client import GrafanaApi

# TODO(DATA-311): move these to the vault before the repo goes to the contractors
DATABRICKS_TOKEN = "⟦databricks-token⟧"
NOTION = Client(auth="⟦notion-token⟧")
SLACK = WebClient(token="⟦slack-legacy-token⟧")
HUB = HfApi(token="⟦huggingface-org-token⟧")
GRAFANA = GrafanaApi.from_url("https://grafana.acme-corp.io", credential="⟦grafana-service-account-token⟧")

# the same clients as CI builds them
CI_SLACK = WebClient(token=os.environ["SLACK_BOT_TOKEN"])
CI_HUB = HfApi(token=os.environ.get("HF_TOKEN"))

SOURCE_TABLE = "finance.reports.monthly_close"
DATAPI_VERSION = "2.0"
API_ORG_ID = "acme-finance"
SAMPLE_LOOKALIKES = [
    "sntryu_b2e6e1b465e551305fd2d2490ca4c616e8c4bf144d3334955d46af783b52901",
    "ntn_43700532916BW8U4YPiJxEB",
    "api_org_BLNOVnQw83pAbHqbFs2uXfbj4Yxj5pQUtW",
    "sgp_nwntswxinoqyqvmjghthqmhploogywpmrjlrskpw",
]


def run() -> None:
    with sql.connect(server_hostname="adb-4821937465012345.12.azuredatabricks.net",
                     http_path="/sql/1.0/warehouses/9f3c2e1b7a6d5c4b",
                     access_token=DATABRICKS_TOKEN) as connection:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {SOURCE_TABLE} WHERE month = current_date() - INTERVAL 1 MONTH")
            rows = cursor.fetchall()
    NOTION.pages.create(parent={"database_id": os.environ["NOTION_DATABASE_ID"]}, properties={"Rows": {"number": len(rows)}})
    SLACK.chat_postMessage(channel="#finance-close", text=f"Monthly close synced: {len(rows)} rows")

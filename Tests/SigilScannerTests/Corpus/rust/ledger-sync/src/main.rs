//! ledger-sync: mirrors settled payouts from the payments database into the accounting ledger.
//!
//! Secrets come from Doppler at start-up. For local runs without the Doppler CLI the service token
//! of the `ledger-sync/dev` config is used.

use std::{env, time::Duration};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use sqlx::postgres::PgPoolOptions;
use tracing::{info, warn};

const DOPPLER_API: &str = "https://api.doppler.com/v3/configs/config/secrets/download?format=json";
const DEV_DOPPLER_TOKEN: &str = "⟦doppler-token⟧";
const BATCH_SIZE: i64 = 500;
const POLL_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize)]
struct Secrets {
    #[serde(rename = "DATABASE_URL")]
    database_url: String,
    #[serde(rename = "LEDGER_API_TOKEN")]
    ledger_api_token: String,
    #[serde(rename = "LEDGER_BASE_URL", default = "default_ledger_url")]
    ledger_base_url: String,
}

fn default_ledger_url() -> String {
    "https://ledger.internal.acme-corp.io".to_owned()
}

#[derive(Debug, sqlx::FromRow)]
struct Payout {
    id: i64,
    merchant_id: String,
    amount_cents: i64,
    currency: String,
}

async fn fetch_secrets(client: &reqwest::Client) -> Result<Secrets> {
    let token = env::var("DOPPLER_TOKEN").unwrap_or_else(|_| DEV_DOPPLER_TOKEN.to_owned());
    let response = client
        .get(DOPPLER_API)
        .basic_auth(&token, Option::<&str>::None)
        .send()
        .await
        .context("downloading secrets from Doppler")?;
    if !response.status().is_success() {
        bail!("Doppler returned {}", response.status());
    }
    Ok(response.json().await?)
}

async fn push_batch(client: &reqwest::Client, secrets: &Secrets, batch: &[Payout]) -> Result<()> {
    let entries: Vec<_> = batch
        .iter()
        .map(|p| serde_json::json!({"external_id": p.id, "account": p.merchant_id, "amount": p.amount_cents, "currency": p.currency}))
        .collect();
    client
        .post(format!("{}/v1/journal-entries:batch", secrets.ledger_base_url))
        .bearer_auth(&secrets.ledger_api_token)
        .json(&serde_json::json!({ "entries": entries }))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build()?;
    let secrets = fetch_secrets(&http).await?;
    let pool = PgPoolOptions::new().max_connections(4).connect(&secrets.database_url).await?;

    loop {
        let batch: Vec<Payout> = sqlx::query_as(
            "SELECT id, merchant_id, amount_cents, currency FROM payouts WHERE ledger_synced_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(BATCH_SIZE)
        .fetch_all(&pool)
        .await?;

        if batch.is_empty() {
            tokio::time::sleep(POLL_INTERVAL).await;
            continue;
        }
        match push_batch(&http, &secrets, &batch).await {
            Ok(()) => {
                let ids: Vec<i64> = batch.iter().map(|p| p.id).collect();
                sqlx::query("UPDATE payouts SET ledger_synced_at = now() WHERE id = ANY($1)").bind(&ids).execute(&pool).await?;
                info!(count = batch.len(), "synced payouts");
            }
            Err(error) => {
                warn!(%error, "ledger push failed, retrying later");
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
    }
}

#!/bin/sh
# One-off bootstrap of the reporting account profile (run from the ops laptop, 2023-11).
set -e

aws configure set region eu-central-1 --profile reporting
aws configure set output json --profile reporting
aws configure set aws_access_key_id ⟦aws-access-key-id⟧ --profile reporting
aws configure set aws_secret_access_key ⟦aws-secret-access-key⟧ --profile reporting
aws configure set aws_secret_access_key "$AWS_SECRET_ACCESS_KEY" --profile ci
aws configure set aws_session_token "$(cat /run/secrets/session-token)" --profile ci
aws configure set cli_pager "" --profile reporting

aws s3 ls s3://acme-reporting-exports/ --profile reporting
aws sts get-caller-identity --profile reporting

az login --service-principal -u 1f0c7a52-6d3e-4b8a-9c21-7e5d4f3a2b10 --password ⟦azure-client-secret⟧ --tenant 8d2e4f6a-0b9c-4e1d-a3f5-6c7b8a9d0e1f
az login --service-principal -u "$ARM_CLIENT_ID" --password "$ARM_CLIENT_SECRET" --tenant "$ARM_TENANT_ID"
az storage blob upload --account-name streportsprod --account-key ⟦azure-storage-account-key⟧ -c exports -f report.csv -n 2023/11/report.csv
az storage blob list --account-name streportsprod -c exports --auth-mode login -o table

gcloud auth activate-service-account --key-file=/secrets/gcp/reporting.json
gcloud auth print-access-token | docker login -u oauth2accesstoken --password-stdin https://europe-west3-docker.pkg.dev

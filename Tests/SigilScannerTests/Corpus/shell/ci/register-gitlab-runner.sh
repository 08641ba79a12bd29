#!/usr/bin/env bash
# Registers this VM as a GitLab runner for the platform group and kicks a smoke pipeline.
set -euo pipefail

GITLAB_URL="https://gitlab.acme-corp.io"
RUNNER_TAGS="docker,linux,amd64"
RUNNER_NAME="$(hostname -s)"

# Runner authentication token from Group > Build > Runners > New group runner.
RUNNER_TOKEN="⟦gitlab-runner-token⟧"

# Pipeline trigger for platform/smoke-tests
SMOKE_TRIGGER_TOKEN="⟦gitlab-pipeline-trigger-token⟧"
SMOKE_PROJECT_ID=412

# Personal access token of the "runner-admin" bot, api scope; used to pause the runner on shutdown.
GITLAB_ADMIN_TOKEN="${GITLAB_ADMIN_TOKEN:-⟦gitlab-pat⟧}"

if ! command -v gitlab-runner >/dev/null 2>&1; then
  curl -fsSL "https://packages.gitlab.com/install/repositories/runner/gitlab-runner/script.deb.sh" | sudo bash
  sudo apt-get install -y gitlab-runner
fi

sudo gitlab-runner register \
  --non-interactive \
  --url "${GITLAB_URL}" \
  --token "${RUNNER_TOKEN}" \
  --name "${RUNNER_NAME}" \
  --executor docker \
  --docker-image "alpine:3.20" \
  --docker-volumes "/var/run/docker.sock:/var/run/docker.sock"

RUNNER_ID="$(curl -fsS -H "PRIVATE-TOKEN: ${GITLAB_ADMIN_TOKEN}" "${GITLAB_URL}/api/v4/runners?tag_list=${RUNNER_TAGS}" | jq -r --arg n "${RUNNER_NAME}" '.[] | select(.description == $n) | .id')"
echo "registered runner ${RUNNER_ID}"

cat <<UNIT | sudo tee /etc/systemd/system/gitlab-runner-pause.service >/dev/null
[Unit]
Description=Pause GitLab runner before shutdown
DefaultDependencies=no
Before=shutdown.target

[Service]
Type=oneshot
ExecStart=/usr/bin/curl -fsS -X PUT -H "PRIVATE-TOKEN: \${GITLAB_ADMIN_TOKEN}" ${GITLAB_URL}/api/v4/runners/${RUNNER_ID} --form paused=true
EnvironmentFile=/etc/gitlab-runner/admin-token.env

[Install]
WantedBy=shutdown.target
UNIT
sudo systemctl enable gitlab-runner-pause.service

curl -fsS -X POST \
  --form "token=${SMOKE_TRIGGER_TOKEN}" \
  --form "ref=main" \
  --form "variables[RUNNER_UNDER_TEST]=${RUNNER_NAME}" \
  "${GITLAB_URL}/api/v4/projects/${SMOKE_PROJECT_ID}/trigger/pipeline" | jq '.web_url'

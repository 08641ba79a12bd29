#!/usr/bin/env bash
# Pushes manifest.yml to the Slack apps of the workspace. App configuration tokens last 12 hours;
# the refresh token below gets a new pair (tooling.tokens.rotate).
set -euo pipefail

CONFIG_TOKEN=⟦slack-config-token⟧
REFRESH_TOKEN=${SLACK_CONFIG_REFRESH_TOKEN:-⟦slack-config-token-refresh⟧}

rotate() {
  curl -fsS -X POST https://slack.com/api/tooling.tokens.rotate --data-urlencode "refresh_token=$REFRESH_TOKEN"
}

curl -fsS -X POST https://slack.com/api/apps.manifest.update \
  -H "Authorization: Bearer ⟦slack-config-token⟧" \
  --data-urlencode "app_id=A06KQ2X8Y3Z" \
  --data-urlencode "manifest=$(yq -o=json manifest.yml)"

# Docs say the tokens look like xoxe.xoxp-1-Mi0y… and xoxe-1-My0x…; never paste full ones here.
# Hubot still runs with the classic bot token:
HUBOT_SLACK_TOKEN=⟦slack-legacy-token-bot⟧ ./bin/hubot --adapter slack --name orders-bot
HUBOT_SLACK_TOKEN=xoxb-your-token-here ./bin/hubot --adapter slack --name test-bot
# and the archived export job used a user token:
./bin/slack-export --token ⟦slack-legacy-token⟧ --channel C04QF2K8Z1M
./bin/slack-export --token xoxp-1234 --channel C04QF2K8Z1M --dry-run

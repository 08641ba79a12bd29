#!/bin/sh
# Batch code search across the monorepos (used by the weekly dependency report).
curl -fsS -H "Authorization: token ⟦sourcegraph-token⟧" \
  "https://sourcegraph.acme-corp.io/.api/search/stream?q=lang:go+log4j&display=1000"
curl -fsS -H "Authorization: token $SRC_ACCESS_TOKEN" "https://sourcegraph.acme-corp.io/.api/graphql" -d '{"query":"{ currentUser { username } }"}'
src login https://sourcegraph.acme-corp.io

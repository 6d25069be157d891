#!/usr/bin/env bash
# Deploys the connector to Fivetran from build/deploy/, a copy holding only what runs there
# (connector.py, extractor/, requirements.txt): nothing else is uploaded, and the SDK's
# requirements.txt check sees only the connector's imports. Options go to `fivetran deploy`:
#   bash scripts/deploy.sh --api-key KEY --destination DEST --connection NAME --configuration FILE
#   bash scripts/deploy.sh --dry-run    # build and package it with the SDK, no upload; list it
# The logic is in scripts/deploy_package.py.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -x "$repo/.venv/bin/python" ]; then
    echo "deploy.sh: $repo/.venv is missing: run \`bash scripts/setup.sh\` first" >&2
    exit 1
fi
exec "$repo/.venv/bin/python" "$repo/scripts/deploy_package.py" "$@"

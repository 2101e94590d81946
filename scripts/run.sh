#!/usr/bin/env bash
# Set up, then serve the bot on the bundled report at http://127.0.0.1:7860 (builds the index on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python app.py "$@"

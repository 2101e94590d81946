#!/usr/bin/env bash
# Measure on reports that are not bundled: index the bundled reports together with the library reports
# that bank/library/ asks about (from ../shared/corpus/library/), then run bot.eval on those questions.
#   bash scripts/library-eval.sh [bot.eval options]      e.g. --split validation
set -euo pipefail
cd "$(dirname "$0")/.."
LIBRARY="${LIBRARY:-../shared/corpus/library}"
WORK="${WORK:-/tmp/report-qa-library-eval}"
mkdir -p "$WORK/data"
rm -f "$WORK"/data/*
ln -s "$PWD"/data/* "$WORK/data/"
for doc in $(.venv/bin/python -c "import json,glob; print(' '.join(sorted({json.loads(l)['doc'] for f in glob.glob('bank/library/*.jsonl') for l in open(f, encoding='utf-8') if l.strip()})))"); do
  ln -s "$(cd "$LIBRARY" && pwd)/$doc" "$WORK/data/$doc"
done
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
QA_DATA_DIR="$WORK/data" QA_INDEX_DIR="$WORK/index" .venv/bin/python -m index build
QA_INDEX_DIR="$WORK/index" exec .venv/bin/python -m bot.eval bank/library/*.jsonl "$@"

#!/usr/bin/env bash
# Create .venv and install the project. `setup.sh test` adds what the tests need
# (a CPU build of torch for the sentence-transformers path, Chromium and CJK fonts for browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip

if [ "${1:-}" = "test" ]; then
  # A plain "torch" would pull a multi-GB CUDA build; 2.13.0 resolves to the local CPU build.
  python -m pip install -q "torch==2.13.0" || echo "warning: torch 2.13.0 not available; sentence-transformers will choose its own torch" >&2
  python -m pip install -q -e ".[test]"
  # axe-core, the accessibility checker the browser tests load into pages (from the npm registry)
  if command -v npm >/dev/null 2>&1; then
    npm install --silent --no-save --no-audit --no-fund --prefix tests/browser/node axe-core@4.14.1
  else
    echo "warning: install npm (Debian package npm) for the accessibility checks in the browser tests" >&2
  fi
  if ! command -v chromium >/dev/null 2>&1 || ! (fc-list :lang=zh 2>/dev/null | grep -q .) \
      || ! PATH="$PATH:/usr/sbin" command -v nginx >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq chromium fonts-noto-cjk nginx-light >/dev/null  # nginx: the scale-out test
    else
      echo "warning: install Debian packages chromium and fonts-noto-cjk for the browser tests, nginx-light for the scale-out test" >&2
    fi
  fi
else
  python -m pip install -q -e .
fi

#!/usr/bin/env bash
# The FinOps Foundation's FOCUS validator (focus-validator 2.2.1) in its own Python 3.12 venv, .venv312:
# it needs Python >= 3.12 and pyarrow < 18 (newer wheels break its parquet/polars reading).
# Idempotent: does nothing when .venv312 already has the pinned validator. Used by `make system-deps`
# and tests/unit/documents/test_focus_conformance.py.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv312
VERSION=2.2.1
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip show focus-validator 2>/dev/null | grep -qx "Version: $VERSION"; then
  exit 0
fi
PY312="${PYTHON312:-}"
if [ -z "$PY312" ]; then
  if command -v pyenv >/dev/null && [ -x "$(pyenv root)/versions/3.12.1/bin/python3.12" ]; then
    PY312="$(pyenv root)/versions/3.12.1/bin/python3.12"
  else
    PY312="$(command -v python3.12 || true)"
  fi
fi
if [ -z "$PY312" ]; then
  echo "focus-validator: no Python 3.12 found (set PYTHON312); the FOCUS conformance test will be skipped" >&2
  exit 0
fi
test -x "$VENV/bin/python" || "$PY312" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "focus-validator==$VERSION" "pyarrow<18"

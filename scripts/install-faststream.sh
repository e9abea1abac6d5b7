#!/usr/bin/env bash
# Idempotently install the pinned FastStream (the versions tests/fixtures/faststream/README.md lists)
# into <repo>/target/faststream-venv, for the FastStream <-> generated Rust end-to-end test
# (tests/e2e/tests/e2e/faststream_app.rs runs tests/fixtures/faststream/app.py with it).
# Prints the python to use. Env overrides: PYTHON (default python3).
set -euo pipefail

PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/target/faststream-venv"
PINS=(
    "faststream[nats]==0.7.8"
    "nats-py==2.16.0"
    "pydantic==2.14.4"
    "pydantic-core==2.50.5"
)

have() {
    "$VENV/bin/python" - "$@" 2>/dev/null <<'PY'
import importlib.metadata as m, sys
want = {"faststream": "0.7.8", "nats-py": "2.16.0", "pydantic": "2.14.4", "pydantic-core": "2.50.5"}
sys.exit(any(m.version(name) != version for name, version in want.items()))
PY
}

if have; then
    echo "$VENV/bin/python"
    exit 0
fi
echo "installing FastStream 0.7.8 into $VENV" >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q "${PINS[@]}"
have || { echo "FastStream venv at $VENV does not have the pinned versions" >&2; exit 1; }
echo "$VENV/bin/python"

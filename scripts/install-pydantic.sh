#!/usr/bin/env bash
# Idempotently install pinned pydantic into <repo>/target/pydantic-venv (for the wire fixture tests:
# pydantic must accept what the generated Rust types encode). Prints the python to use.
# Falls back to `pip install --target target/pydantic-lib` when venv is unusable.
# Env overrides: PYDANTIC_VERSION (default 2.13.4), PYTHON (default python3).
set -euo pipefail

PYDANTIC_VERSION="${PYDANTIC_VERSION:-2.13.4}"
PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/target/pydantic-venv"
LIB="$ROOT/target/pydantic-lib"

have() { "$@" -c "import pydantic, sys; sys.exit(pydantic.VERSION != '$PYDANTIC_VERSION')" 2>/dev/null; }

if have "$VENV/bin/python"; then
    echo "$VENV/bin/python"
    exit 0
fi
if have env PYTHONPATH="$LIB" "$PYTHON"; then
    echo "$PYTHON (PYTHONPATH=$LIB)"
    exit 0
fi
echo "installing pydantic $PYDANTIC_VERSION into $VENV" >&2
rm -rf "$VENV"
if "$PYTHON" -m venv "$VENV" && "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q "pydantic==$PYDANTIC_VERSION"; then
    echo "$VENV/bin/python"
else
    rm -rf "$VENV"
    "$PYTHON" -m pip install --disable-pip-version-check --no-input -q --target "$LIB" "pydantic==$PYDANTIC_VERSION"
    echo "$PYTHON (PYTHONPATH=$LIB)"
fi

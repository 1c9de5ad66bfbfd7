#!/usr/bin/env bash
# Rewrites the seed corpus (fuzz/corpus/) from a real memcached: see
# examples/seed.rs. Needs memcached on PATH (or $MEMCACHED_BIN).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
cargo run --quiet --example seed

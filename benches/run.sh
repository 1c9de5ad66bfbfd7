#!/usr/bin/env bash
# The one benchmark command: memcrab against its peers, in one run, on one
# local memcached, writing BENCHMARKS.md and benches/benchmarks.svg.
#
#   benches/run.sh [--duration SECONDS] [--rounds N] [--only WORKLOAD,...]
#
# Steps: install what is missing (memcached, memcaslap from
# libmemcached-tools, a venv at target/pyvenv with pymemcache 4.0.0);
# run the parser/encoder microbenchmarks (criterion, memcrab-core); build
# benches/peers (its own crate: tokio, async-memcached, the memcache
# crate, plotters); count instructions per operation under callgrind
# (memcrab-ir, when valgrind is installed); and run the peers, including the
# many-caller workload (1 to 1024 concurrent callers of single gets: memcrab's
# tokio client, async-memcached behind pools of 1, 4, 16, the blocking pool,
# the bare socket; get_many of 100, 1000 and 10,000 keys; the engine with 256
# gets in flight over 4 or 256 connections). Never part of the test suite.
# Takes about 15 minutes with the defaults (2 s per measurement, 3 rounds).
#
# Only some workloads (BENCHMARKS.md is then written from them alone: keep
# the full run's file, write elsewhere):
#   benches/peers/target/release/memcrab-peers --only get_many_1000,inflight256_c4 \
#       --out /tmp/part.md --chart /tmp/part.svg --json /tmp/part.json
#   benches/peers/target/release/memcrab-ir --only memcrab-engine-c1,memcrab-engine-c256
#
# The machine is shared: absolute numbers drift with its load, so every
# figure is reported as a ratio to peers measured in the same run. Run it
# when the load is low (it prints `uptime` before and after); as root it
# runs at a raised priority (nice -10) so other jobs disturb it less.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '\n### %s\n' "$*" >&2; }

apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing: $*; install it (apt-get install $*) or run as root" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "$@" ||
        { apt-get update && apt-get install -y --no-install-recommends "$@"; }
}

command -v memcached >/dev/null 2>&1 || { log "installing memcached"; apt_install memcached; }
command -v memcaslap >/dev/null 2>&1 || { log "installing memcaslap"; apt_install libmemcached-tools || true; }

python="${MEMCRAB_PYTHON:-target/pyvenv/bin/python}"
if ! "$python" -c 'import pymemcache' >/dev/null 2>&1; then
    log "making a venv with pymemcache 4.0.0 at target/pyvenv"
    python3 -m venv target/pyvenv 2>/dev/null || { apt_install python3-venv && python3 -m venv target/pyvenv; }
    target/pyvenv/bin/pip install --quiet 'pymemcache==4.0.0'
    python=target/pyvenv/bin/python
fi

log "parser and encoder microbenchmarks (criterion)"
cargo bench -p memcrab-core --bench parse -- --warm-up-time 1 --measurement-time 3 --noplot

log "building benches/peers"
cargo build --release --manifest-path benches/peers/Cargo.toml

if command -v valgrind >/dev/null 2>&1; then
    log "instructions per operation (callgrind): benches/instructions.md"
    benches/peers/target/release/memcrab-ir --out benches/instructions.md
else
    echo "valgrind is not installed: no instruction counts (apt-get install valgrind)" >&2
fi

nice=()
if [ "$(id -u)" -eq 0 ]; then
    nice=(nice -n -10)
fi
log "load before: $(uptime)"
"${nice[@]}" benches/peers/target/release/memcrab-peers \
    --python "$python" --command "benches/run.sh${*:+ $*}" "$@"
log "load after: $(uptime)"

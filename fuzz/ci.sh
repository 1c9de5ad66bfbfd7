#!/usr/bin/env bash
# Fuzz smoke run: builds every cargo-fuzz target and runs each for a fixed
# short time; exits non-zero on any crash, panic, leak or timeout.
#
#   fuzz/ci.sh                 # 30 seconds per target
#   fuzz/ci.sh 600             # 10 minutes per target
#   FUZZ_TARGETS="text_reply meta_reply" fuzz/ci.sh 60
#
# Installs cargo-fuzz when it is missing. Uses the nightly toolchain when
# rustup has one; otherwise the stable one with RUSTC_BOOTSTRAP=1 (cargo-fuzz
# needs -Z flags; the sanitizer runtime ships with stable too).
#
# New inputs go to a scratch directory; the committed seeds in
# fuzz/corpus/<target>/ are read, never written. A crash leaves its input in
# fuzz/artifacts/<target>/ and the command to reproduce it in the log.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

seconds="${1:-${FUZZ_SECONDS:-30}}"
read -r -a targets <<<"${FUZZ_TARGETS:-text_reply meta_reply request_encoder key_validation address_parser cluster_config}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "### installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

toolchain=()
if rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=(+nightly)
else
    echo "### no nightly toolchain: using stable with RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

start=$SECONDS
echo "### building ${targets[*]}"
cargo "${toolchain[@]}" fuzz build
echo "### built in $((SECONDS - start))s"

failed=()
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target" "corpus/$target"
    echo "### $target: ${seconds}s"
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: the
    # parsers must never buffer a claimed length.
    if ! cargo "${toolchain[@]}" fuzz run "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
        failed+=("$target")
    fi
done

echo "### fuzz smoke run: $((SECONDS - start))s in all"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "### crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "### no crash in ${targets[*]}"

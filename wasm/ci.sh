#!/usr/bin/env bash
# wasm/ci.sh: installs what the npm package's tests need on a fresh Debian
# machine (as root) and runs them:
#
#   1. `cargo xtask npm`: the package `memcrab` and its tarball
#      target/npm/memcrab-VERSION.tgz (`npm pack`, contents checked);
#   2. tsc --strict on wasm/tests/types/usage.ts against the package's types;
#   3. `node --test wasm/tests/npm/`: Protocol driven by hand over net.Socket;
#   4. wasm/tests/npm/run.mjs: the tarball installed into an empty project
#      per runtime (Node, Deno, Bun, workerd, headless Chromium through
#      websockify), the same suite in each against real memcached servers.
#
# Deno, Bun, workerd and esbuild come from the npm registry (pinned in
# run.mjs); Chromium, ChromeDriver and websockify from Debian. Every server
# listens on a free port of 127.0.0.1 and is stopped on exit. Logs go to
# target/wasm/ci/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
OUT=$ROOT/target/wasm
LOGS=$OUT/ci
mkdir -p "$LOGS"
export PATH="$HOME/.cargo/bin:$PATH"
TARGET=wasm32-unknown-unknown
START=$SECONDS

log() { printf '\n### wasm: %s\n' "$*"; }
elapsed() { printf '    (%ss)\n' "$((SECONDS - $1))"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "wasm/ci.sh: need root to run: $*" >&2
        return 1
    fi
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y --no-install-recommends "$@" ||
        { as_root apt-get update && as_root apt-get install -y --no-install-recommends "$@"; }
}

# ---------------------------------------------------------------- tools
log "tools"
t=$SECONDS
if ! rustup target list --installed | grep -qx "$TARGET"; then
    rustup target add "$TARGET"
fi

# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate.
WB_VERSION=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$WB_VERSION" ]; then
    WB_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' wasm/Cargo.toml)
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
    echo "installing wasm-bindgen-cli $WB_VERSION (a few minutes)"
    t_cli=$SECONDS
    cargo install wasm-bindgen-cli --version "$WB_VERSION" --locked
    echo "wasm-bindgen-cli installed in $((SECONDS - t_cli))s"
fi

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v websockify >/dev/null 2>&1 || need+=(websockify)
command -v memcached >/dev/null 2>&1 || need+=(memcached)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# Node 20 is on the machine; Debian's own nodejs (18) would do as a fallback.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}"
    apt_install "${need[@]}"
fi
node_major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')
if [ "$node_major" -lt 18 ]; then
    echo "wasm/ci.sh: Node $(node --version) is too old for node:test (need 18, tested on 20)" >&2
    exit 1
fi

# Two tools from the npm registry, pinned, into target/wasm/npm:
# - wasm-opt from npm's binaryen (used by `cargo xtask npm`). Debian 12's
#   binaryen (version 108) rewrites a module with two tables (wasm-bindgen's
#   externref table beside the function table) so that the externref
#   table's export points at the function table, and the module then fails
#   at start ("WebAssembly.Table.grow(): failed to grow table by 4").
# - TypeScript, to type-check use of the package's types.
BINARYEN_VERSION=132.0.0
TYPESCRIPT_VERSION=5.9.3
NPM_DIR=$OUT/npm
WASM_OPT=$NPM_DIR/node_modules/.bin/wasm-opt
TSC=$NPM_DIR/node_modules/.bin/tsc
npm_version() { node -p "require('$NPM_DIR/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(npm_version binaryen)" != "$BINARYEN_VERSION" ] || [ "$(npm_version typescript)" != "$TYPESCRIPT_VERSION" ]; then
    npm install --no-save --no-audit --no-fund --prefix "$NPM_DIR" \
        "binaryen@$BINARYEN_VERSION" "typescript@$TYPESCRIPT_VERSION"
fi
echo "$(wasm-bindgen --version), node $(node --version), $(chromium --version 2>/dev/null)," \
    "$(memcached --version), websockify $(dpkg-query -W -f '${Version}' websockify 2>/dev/null || echo '?')," \
    "$("$WASM_OPT" --version), tsc $("$TSC" --version | awk '{print $2}')"
elapsed "$t"

# ---------------------------------------------------------------- package
log "the npm package (cargo xtask npm)"
t=$SECONDS
cargo xtask npm 2>&1 | tee "$LOGS/npm.log"
VERSION=$(node -p "require('./target/npm/package/package.json').version")
TGZ=$ROOT/target/npm/memcrab-$VERSION.tgz
WASM_FILE=target/npm/package/dist/wasm/memcrab_wasm_bg.wasm
echo "memcrab_wasm_bg.wasm: $(stat -c %s "$WASM_FILE") bytes, $(gzip -9 -c "$WASM_FILE" | wc -c) gzipped;" \
    "tarball $(stat -c %s "$TGZ") bytes"
elapsed "$t"

log "TypeScript: the package's types check typical use (tsc --strict)"
t=$SECONDS
"$TSC" --noEmit --strict --target es2022 --module es2022 --moduleResolution bundler \
    --lib es2022,dom,esnext.disposable wasm/tests/types/usage.ts
echo "wasm/tests/types/usage.ts: types check"
elapsed "$t"

# ---------------------------------------------------------------- tests
PASSED=1 # the type check above
count() { # count LOG: adds the passes of a node:test or run.mjs log
    local n
    n=$(sed -n -e 's/^# pass \([0-9]*\)$/\1/p' "$1" | awk '{ s += $1 } END { print s + 0 }')
    PASSED=$((PASSED + n))
}

log "Node: Protocol over net.Socket (node --test wasm/tests/npm/)"
t=$SECONDS
MEMCRAB_NPM_DIR=$ROOT/target/npm/package node --test --test-timeout=60000 wasm/tests/npm/ 2>&1 |
    tee "$LOGS/protocol.log"
count "$LOGS/protocol.log"
elapsed "$t"

log "the tarball in Node, Deno, Bun, workerd and Chromium (wasm/tests/npm/run.mjs)"
t=$SECONDS
CHROMEDRIVER=$(command -v chromedriver) node wasm/tests/npm/run.mjs "$TGZ" node deno bun workerd chromium 2>&1 |
    tee "$LOGS/runtimes.log"
count "$LOGS/runtimes.log"
elapsed "$t"

log "done in $((SECONDS - START))s"
echo "wasm: $PASSED passed, 0 failed"

#!/usr/bin/env bash
# wasm/ci.sh: installs what memcrab-wasm's tests need on a fresh Debian
# machine (as root) and runs them:
#
#   1. the Node suite: `Protocol` over net.Socket against a real memcached
#      (wasm/tests/node/, Node's built-in test runner);
#   2. the browser suite: `Client` in headless Chromium through websockify
#      against real memcached servers (wasm/tests/browser.rs,
#      wasm-bindgen-test-runner driving chromedriver);
#   3. the example page (wasm/examples/browser/) loaded in headless Chromium,
#      its results read back from the DOM (wasm/tests/page/);
#
# and before them type-checks wasm/tests/types/usage.ts against the
# generated memcrab_wasm.d.ts.
#
# It also reports the size of the .wasm before and after `wasm-opt -Oz`.
# Every server it starts listens on a free port of 127.0.0.1 and is stopped
# on exit. Logs go to target/wasm/ci/.
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
# - wasm-opt from npm's binaryen. Debian 12's binaryen (version 108) rewrites
#   a module with two tables (wasm-bindgen's externref table beside the
#   function table) so that the externref table's export points at the
#   function table, and the module then fails at start
#   ("WebAssembly.Table.grow(): failed to grow table by 4"). The npm package
#   is binaryen compiled to JS/wasm.
# - TypeScript, to type-check use of the generated .d.ts.
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

# ---------------------------------------------------------------- build
log "build (release, opt-level z, LTO) and wasm-bindgen"
t=$SECONDS
CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    cargo build --release -p memcrab-wasm --target "$TARGET"
WASM=target/$TARGET/release/memcrab_wasm.wasm
NODE_PKG=$OUT/node
WEB_PKG=wasm/examples/browser/pkg
rm -rf "$NODE_PKG" "$WEB_PKG"
wasm-bindgen --target nodejs --out-dir "$NODE_PKG" "$WASM"
wasm-bindgen --target web --out-dir "$WEB_PKG" "$WASM"
raw=$(stat -c %s "$WEB_PKG/memcrab_wasm_bg.wasm")
# The Node suite and the example page then run the optimized modules.
opt_pids=()
for pkg in "$NODE_PKG" "$WEB_PKG"; do
    "$WASM_OPT" -Oz "$pkg/memcrab_wasm_bg.wasm" -o "$pkg/memcrab_wasm_bg.wasm.opt" &
    opt_pids+=($!)
done
for pid in "${opt_pids[@]}"; do
    wait "$pid"
done
for pkg in "$NODE_PKG" "$WEB_PKG"; do
    mv "$pkg/memcrab_wasm_bg.wasm.opt" "$pkg/memcrab_wasm_bg.wasm"
done
opt=$(stat -c %s "$WEB_PKG/memcrab_wasm_bg.wasm")
gz=$(gzip -9 -c "$WEB_PKG/memcrab_wasm_bg.wasm" | wc -c)
js=$(stat -c %s "$WEB_PKG/memcrab_wasm.js")
echo "memcrab_wasm_bg.wasm: $raw bytes from wasm-bindgen, $opt after wasm-opt -Oz, $gz gzipped;" \
    "memcrab_wasm.js glue: $js bytes"
elapsed "$t"

log "TypeScript: the generated .d.ts type-checks typical use (tsc --strict)"
t=$SECONDS
"$TSC" --noEmit --strict --target es2022 --module es2022 --moduleResolution bundler \
    --lib es2022,dom wasm/tests/types/usage.ts
echo "wasm/tests/types/usage.ts: types check"
elapsed "$t"

# ---------------------------------------------------------------- servers
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "wasm/ci.sh: nothing listens on 127.0.0.1:$1 (see $LOGS)" >&2
    return 1
}

PIDS=()
STALLED_PID=
cleanup() {
    # A stopped process must be continued before it can handle SIGTERM.
    [ -n "$STALLED_PID" ] && kill -CONT "$STALLED_PID" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

memcached_user=()
[ "$(id -u)" -eq 0 ] && memcached_user=(-u root)

# start_memcached NAME [ARGS...]: sets MC_PORT and LAST_PID.
start_memcached() {
    local name=$1 port
    shift
    port=$(free_port)
    memcached "${memcached_user[@]}" -l 127.0.0.1 -p "$port" -U 0 -m 64 "$@" \
        >"$LOGS/memcached-$name.log" 2>&1 &
    PIDS+=($!)
    LAST_PID=$!
    wait_port "$port"
    MC_PORT=$port
}

# start_bridge NAME TARGET_PORT: websockify on a free port (WS_PORT) in front of it.
start_bridge() {
    local name=$1 target=$2 port
    port=$(free_port)
    websockify "127.0.0.1:$port" "127.0.0.1:$target" >"$LOGS/websockify-$name.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port"
    WS_PORT=$port
}

log "servers: memcached and websockify on 127.0.0.1"
start_memcached main
MAIN_MC=$MC_PORT
start_bridge main "$MAIN_MC"
export MEMCRAB_WS_URL=ws://127.0.0.1:$WS_PORT
start_memcached shutdown -A
start_bridge shutdown "$MC_PORT"
export MEMCRAB_WS_SHUTDOWN_URL=ws://127.0.0.1:$WS_PORT
start_memcached stalled
STALLED_PID=$LAST_PID
start_bridge stalled "$MC_PORT"
export MEMCRAB_WS_STALLED_URL=ws://127.0.0.1:$WS_PORT
start_bridge dead "$(free_port)"
export MEMCRAB_WS_DEAD_URL=ws://127.0.0.1:$WS_PORT
export MEMCRAB_WS_NONE_URL=ws://127.0.0.1:$(free_port)
# Stopped, the server still accepts connections (the kernel completes them)
# but never answers: what a hung server looks like.
kill -STOP "$STALLED_PID"
env | grep '^MEMCRAB_WS_' | sort

# ---------------------------------------------------------------- tests
PASSED=1 # the type check above
count() { # count LOG: adds the passes of a cargo test or node:test log
    local n
    n=$(sed -n -e 's/^# pass \([0-9]*\)$/\1/p' -e 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$1" |
        awk '{ s += $1 } END { print s + 0 }')
    PASSED=$((PASSED + n))
}

log "Node: Protocol over net.Socket (node --test wasm/tests/node/)"
t=$SECONDS
MEMCRAB_WASM_NODE_PKG=$NODE_PKG/memcrab_wasm.js node --test --test-timeout=60000 wasm/tests/node/ 2>&1 | tee "$LOGS/node.log"
count "$LOGS/node.log"
elapsed "$t"

log "browser: Client in headless Chromium through websockify (cargo test --test browser)"
t=$SECONDS
# wasm/webdriver.json adds Chromium flags for a closed network; the runner
# adds --headless and --no-sandbox itself.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    CHROMEDRIVER=$(command -v chromedriver) \
    cargo test -p memcrab-wasm --target "$TARGET" --test browser 2>&1 | tee "$LOGS/browser.log"
count "$LOGS/browser.log"
elapsed "$t"

log "example page in headless Chromium (node --test wasm/tests/page/)"
t=$SECONDS
HTTP_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory wasm/examples/browser "$HTTP_PORT" \
    >"$LOGS/http.log" 2>&1 &
PIDS+=($!)
wait_port "$HTTP_PORT"
MEMCRAB_EXAMPLE_URL="http://127.0.0.1:$HTTP_PORT/index.html?ws=$MEMCRAB_WS_URL" \
    MEMCRAB_EXAMPLE_SCREENSHOT=$OUT/example.png \
    CHROMEDRIVER=$(command -v chromedriver) \
    node --test --test-timeout=120000 wasm/tests/page/ 2>&1 | tee "$LOGS/page.log"
count "$LOGS/page.log"
echo "screenshot: $OUT/example.png"
elapsed "$t"

log "done in $((SECONDS - START))s"
echo "wasm: $PASSED passed, 0 failed"

#!/usr/bin/env bash
# Installs the Debian 12 packages crvs-hub needs to build, run, test and
# benchmark (the benchmark's peer, bench/peer/peer.py: Debian's python3-*).
# Does nothing (no apt-get, no sudo) when they are all installed already.
# Runs apt-get as root, or through sudo for any other user.
#
# Note: installing the `postgresql` package makes Debian create and start a
# system cluster on port 5432. The hub never uses it (deploy/dev/pg.sh runs
# its own server on its own port in a data folder) and leaves it alone.
#
# Environment: CRVS_DEPS_EXTRA (more packages, space-separated).
set -euo pipefail

PROG=deps.sh
# shellcheck disable=SC2206 # CRVS_DEPS_EXTRA is a word list
packages=(
    build-essential meson ninja-build pkg-config
    librdkafka-dev libavro-dev libpq-dev libcurl4-openssl-dev libjansson-dev libssl-dev
    libutf8proc-dev libmicrohttpd-dev libcmocka-dev
    clang libclang-rt-14-dev
    postgresql postgresql-client
    jq iproute2 util-linux git
    prometheus chromium
    openjdk-17-jre-headless maven kcat openssl
    python3-confluent-kafka python3-psycopg2 python3-avro
    ${CRVS_DEPS_EXTRA:-}
)

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

command -v dpkg-query >/dev/null 2>&1 || {
    echo "$PROG: dpkg-query not found: this script is for Debian (12) and derivatives;" \
         "install the equivalents of: ${packages[*]}" >&2
    exit 1
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "$PROG: installing missing Debian packages: ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "$PROG: not root and no sudo; as root run: apt-get install -y ${missing[*]}" >&2
        exit 1
    }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
    || { echo "$PROG: apt-get update failed" >&2; exit 1; }
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" \
    || { echo "$PROG: apt-get install failed for: ${missing[*]}" >&2; exit 1; }

still=()
for p in "${missing[@]}"; do
    installed "$p" || still+=("$p")
done
[ ${#still[@]} -eq 0 ] || { echo "$PROG: still missing after apt-get: ${still[*]}" >&2; exit 1; }
echo "$PROG: installed ${#missing[@]} package(s)" >&2

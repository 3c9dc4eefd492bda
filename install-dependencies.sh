#!/usr/bin/env bash
# Installs every Debian 12 package that Tandem's build, tests and benchmarks need.
# Idempotent and quick when everything is there; works as root or through sudo.
set -euo pipefail

packages=(
    # build
    build-essential g++ meson ninja-build pkg-config python3 git
    # libraries
    libdpdk-dev dpdk libhyperscan-dev libtbb-dev libjemalloc-dev
    libspdlog-dev libfmt-dev libtomlplusplus-dev nlohmann-json3-dev libcpp-httplib-dev libcli11-dev
    libpcap-dev
    # tests, fuzzing and formatting
    libgtest-dev libgmock-dev clang libclang-rt-14-dev clang-format
    sip-tester curl iproute2 ethtool procps tcpdump
    # benchmarks and their baselines
    libbenchmark-dev libosip2-dev kamailio kamailio-redis-modules redis-server gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-dependencies: all ${#packages[@]} packages present"
    exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-dependencies: need root or sudo" >&2; exit 1; }
    sudo_cmd=(sudo)
fi

echo "install-dependencies: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The packaged services must not hold the ports the tests and benchmarks use.
for svc in kamailio redis-server; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
        "${sudo_cmd[@]}" systemctl stop "$svc" || true
        "${sudo_cmd[@]}" systemctl disable "$svc" >/dev/null 2>&1 || true
    fi
done
echo "install-dependencies: done"

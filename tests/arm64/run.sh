#!/usr/bin/env bash
# Prove the edge runtime on a Raspberry Pi userland: Debian bookworm arm64, Python 3.11, run
# under qemu-user emulating the Pi 4 (cortex-a72) and Pi 5 (cortex-a76) cores. Runs
# `digitedge classify` on the samples there and asserts its output is byte-identical to the
# native run's.
#
#   bash tests/arm64/run.sh            # cache in ~/.cache/digitedge-arm64 (DIGITEDGE_ARM64_CACHE)
#
# Needs root for apt-get (qemu-user-static); everything else lives in the cache folder, which
# makes a second run take seconds. Exit 0 when every CPU model matches, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
CACHE=${DIGITEDGE_ARM64_CACHE:-$HOME/.cache/digitedge-arm64}
CPUS=${DIGITEDGE_ARM64_CPUS:-"cortex-a72 cortex-a76"}
SYSROOT=$CACHE/sysroot
SITE=$CACHE/site
NATIVE_PY=${NATIVE_PY:-$REPO/.venv/bin/python}
log() { echo "arm64: $*" >&2; }

if ! command -v qemu-aarch64-static >/dev/null; then
    log "installing qemu-user-static"
    apt-get install -y -qq qemu-user-static >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get install -y -qq qemu-user-static >/dev/null; }
fi

# 1. A bookworm arm64 sysroot holding python3.11 and the C++ runtime the wheels need (Debian .debs).
if [ ! -x "$SYSROOT/usr/bin/python3.11" ]; then
    log "downloading python3.11 for arm64 (Debian bookworm)"
    A=$CACHE/apt
    mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$SYSROOT"
    : > "$A/status"
    APT=(-o APT::Architecture=arm64 -o APT::Architectures=arm64 -o Dir::State::Lists="$A/lists"
         -o Dir::Cache="$A/cache" -o Dir::State::status="$A/status" -o Debug::NoLocking=1)
    apt-get "${APT[@]}" update -qq 2>&1 | grep -v "unsandboxed" >&2 || true
    apt-get "${APT[@]}" install -y -qq --download-only --no-install-recommends python3.11 libstdc++6 libgcc-s1 zlib1g 2>&1 \
        | grep -v "unsandboxed" >&2 || true
    for deb in "$A"/cache/archives/*.deb; do dpkg -x "$deb" "$SYSROOT"; done
fi

# 2. The aarch64 wheels of the edge dependencies, exactly as pip resolves them on a Pi,
#    and digitedge itself (pure Python).
STAMP=$SITE/.stamp-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -e "$STAMP" ]; then
    log "installing aarch64 wheels"
    rm -rf "$SITE" && mkdir -p "$SITE"
    deps=$("$NATIVE_PY" - <<'PY'
import tomllib
from packaging.markers import Marker
from packaging.requirements import Requirement
env = {"platform_machine": "aarch64", "sys_platform": "linux", "python_version": "3.11"}
for dep in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    req = Requirement(dep)
    if req.marker is None or req.marker.evaluate(env):
        req.marker = None
        print(req)
PY
)
    # shellcheck disable=SC2086
    "$NATIVE_PY" -m pip install -q --disable-pip-version-check --only-binary=:all: \
        --platform manylinux_2_27_aarch64 --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 \
        --python-version 3.11 --implementation cp --target "$SITE" $(printf '%s\n' "$deps" | tr '\n' ' ') \
        > "$CACHE/pip.log" 2>&1 || { cat "$CACHE/pip.log" >&2; exit 1; }
    touch "$STAMP"
fi
# this checkout's runtime, always fresh, laid out as it installs: digitedge/ and digitedge/edge/
rm -rf "$SITE/edge" "$SITE/digitedge" && mkdir "$SITE/digitedge" && cp "$REPO"/edge/_package/*.py "$SITE/digitedge/" \
    && cp -r "$REPO/edge" "$SITE/digitedge/edge" && rm -rf "$SITE/digitedge/edge/_package"

# 3. Native and emulated runs of the same command; outputs must be equal.
#    qemu-user (7.2) shows the guest the *host's* x86 /proc/cpuinfo; LiteRT >= 2.2 parses it
#    with cpuinfo and crashes (SIGSEGV in cpuinfo_arm_linux_init). A Pi has an ARM cpuinfo,
#    so each run gets one, bind-mounted in a private mount namespace (docs/raspberry-pi.md).
fake_cpuinfo() {  # $1 = cortex-a72 | cortex-a76
    local part=0xd08 && [ "$1" = cortex-a76 ] && part=0xd0b
    for i in $(seq 0 $(( $(nproc) - 1 ))); do
        printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n' "$i"
        printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: %s\nCPU revision\t: 1\n\n' "$part"
    done
}
emulated() {  # $1 = cpu; the rest: arguments for python3.11
    local cpu=$1 && shift
    fake_cpuinfo "$cpu" > "$CACHE/cpuinfo-$cpu"
    QEMU_CPU=$cpu PYTHONPATH=$SITE PYTHONNOUSERSITE=1 unshare -m --propagation private sh -c \
        'mount --bind "$0" /proc/cpuinfo && exec "$@"' "$CACHE/cpuinfo-$cpu" \
        qemu-aarch64-static -L "$SYSROOT" "$SYSROOT/usr/bin/python3.11" "$@"
}
run_classify() { "$@" -m digitedge classify samples 2>/dev/null; }
native=$(mktemp) && trap 'rm -f "$native" "$native".*' EXIT
(cd "$REPO" && run_classify "$NATIVE_PY") > "$native"
status=0
for cpu in $CPUS; do
    out=$native.$cpu
    started=$(date +%s)
    (cd "$REPO" && run_classify emulated "$cpu") > "$out" || true
    version=$(emulated "$cpu" -c 'import importlib.metadata as m, platform
print(platform.machine(), "ai-edge-litert", m.version("ai-edge-litert"))' 2>&1 | tail -1)
    if [ -s "$out" ] && cmp -s "$native" "$out"; then
        log "$cpu ($version): $(wc -l < "$out") rows byte-identical to native, $(( $(date +%s) - started )) s"
    else
        log "$cpu ($version): output DIFFERS from native"
        diff <(cut -c1-200 "$native") <(cut -c1-200 "$out") | head -20 >&2 || true
        status=1
    fi
done
exit $status

#!/usr/bin/env bash
# scripts/test.sh: install what the test suite needs and run the whole suite.
#
# The one command to run on a fresh Debian/Ubuntu machine that has Rust (rustup/cargo):
#
#     bash scripts/test.sh [extra arguments for cargo nextest run / cargo test]
#
# 1. Checks for the external tools the tests drive: Verilator (+ make, g++, zlib for
#    waveforms), Yosys, nextpnr-ice40 and icepack (FPGA flow), and a software Vulkan
#    device (the Vulkan loader and Mesa's lavapipe ICD) for the GPU golden model.
#    If any is missing it runs `apt-get update` once and installs the whole package list
#    below (with sudo when not root). If it cannot install, it prints what to install
#    and exits 1.
# 2. Exports XDG_RUNTIME_DIR (a private temporary directory) if it is unset; the Vulkan
#    loader and Mesa expect it.
# 3. Runs `cargo nextest run --workspace --no-fail-fast` (then `cargo test --workspace
#    --doc`, since nextest does not run doctests) when cargo-nextest is installed, else
#    `cargo test --workspace --no-fail-fast`.
#
# Exits non-zero if anything fails. Environment knobs:
#   SKIP_INSTALL=1   never call apt-get; just report missing tools and fail
#   TB_TRACE=1       every Verilator test dumps an FST waveform (see testbench::verilator)
#   TB_SEED=N        seed for the random initial register state of Verilated models
#   VERILATOR_CACHE_DIR  where built models are cached (default target/verilator-cache)
set -euo pipefail

APT_PACKAGES=(
    verilator yosys nextpnr-ice40 fpga-icestorm
    mesa-vulkan-drivers libvulkan1
    zlib1g-dev make g++
)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf '==> %s\n' "$*"; }
err() { printf 'error: %s\n' "$*" >&2; }
join() { local out="$1" x; shift; for x in "$@"; do out+=", $x"; done; printf '%s' "$out"; }

# ---------------------------------------------------------------------------
# 1. External tools
# ---------------------------------------------------------------------------

# Prints one line per missing requirement.
missing_requirements() {
    local tool
    for tool in verilator make g++ yosys nextpnr-ice40 icepack; do
        command -v "$tool" >/dev/null 2>&1 || echo "$tool"
    done
    if ! { ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; } \
        && ! compgen -G '/usr/lib/*/libvulkan.so.1' >/dev/null \
        && ! compgen -G '/usr/lib/libvulkan.so.1' >/dev/null; then
        echo "Vulkan loader (libvulkan.so.1)"
    fi
    if ! compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' >/dev/null; then
        echo "lavapipe Vulkan driver (/usr/share/vulkan/icd.d/lvp_icd*.json)"
    fi
    if [ ! -e /usr/include/zlib.h ]; then
        echo "zlib headers (zlib1g-dev, for FST waveforms)"
    fi
}

install_packages() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            return 1
        fi
    fi
    command -v apt-get >/dev/null 2>&1 || return 1
    log "installing: ${APT_PACKAGES[*]}"
    # Called as `! install_packages`, where bash ignores `set -e`: check each command.
    "${sudo[@]}" apt-get update || return
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y "${APT_PACKAGES[@]}" || return
}

if ! command -v cargo >/dev/null 2>&1; then
    err "cargo not found. Install Rust first: https://rustup.rs"
    err "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
    exit 1
fi

mapfile -t missing < <(missing_requirements)
if [ "${#missing[@]}" -gt 0 ]; then
    log "missing: $(join "${missing[@]}")"
    if [ "${SKIP_INSTALL:-0}" = 1 ] || ! install_packages; then
        err "cannot install the missing tools automatically (need root, sudo and apt-get)."
        err "Install them with:"
        err "  sudo apt-get update && sudo apt-get install -y ${APT_PACKAGES[*]}"
        exit 1
    fi
    mapfile -t missing < <(missing_requirements)
    if [ "${#missing[@]}" -gt 0 ]; then
        err "still missing after apt-get install: $(join "${missing[@]}")"
        exit 1
    fi
fi
log "tools: $(verilator --version | head -n1); $(yosys -V | head -n1)"

# ---------------------------------------------------------------------------
# 2. Environment
# ---------------------------------------------------------------------------

if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    XDG_RUNTIME_DIR="$(mktemp -d "${TMPDIR:-/tmp}/xdg-runtime.XXXXXX")"
    chmod 700 "$XDG_RUNTIME_DIR"
    export XDG_RUNTIME_DIR
    trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
fi

# ---------------------------------------------------------------------------
# 3. Tests
# ---------------------------------------------------------------------------

failed=()
run() {
    log "$*"
    if ! "$@"; then
        failed+=("$*")
    fi
}

if cargo nextest --version >/dev/null 2>&1; then
    run cargo nextest run --workspace --no-fail-fast "$@"
    run cargo test --workspace --doc
else
    log "cargo-nextest not installed; using cargo test (install: cargo install cargo-nextest --locked)"
    run cargo test --workspace --no-fail-fast "$@"
fi

if [ "${#failed[@]}" -gt 0 ]; then
    err "failed:"
    printf '  %s\n' "${failed[@]}" >&2
    exit 1
fi
log "all tests passed"

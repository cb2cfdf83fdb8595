#!/usr/bin/env bash
# scripts/test.sh: install what the test suite needs and run the whole suite.
#
# The one command to run on a fresh Debian/Ubuntu machine that has Rust (rustup/cargo):
#
#     bash scripts/test.sh [extra arguments for cargo nextest run / cargo test]
#
# 1. Installs every external tool the tests drive with scripts/install.sh (the same
#    install CI uses): Verilator, Icarus Verilog, yosys, nextpnr-ice40 and icestorm, a
#    software Vulkan device (lavapipe) for the GPU golden model, from apt; the ECP5
#    tools (YoWASP yosys and nextpnr-ecp5) from PyPI into .venv-fpga/. It only installs
#    what is missing; if it cannot, it prints what to install and this script exits 1.
# 2. Exports XDG_RUNTIME_DIR (a private temporary directory) if it is unset; the Vulkan
#    loader and Mesa expect it. Exports GOLDEN_REQUIRE_GPU=1: lavapipe is installed, so
#    the golden model's GPU tests must really run on it, not fall back to the reference.
# 3. Runs `cargo nextest run --workspace --no-fail-fast` (then `cargo test --workspace
#    --doc`, since nextest does not run doctests) when cargo-nextest is installed, else
#    `cargo test --workspace --no-fail-fast`. A test whose tool is missing fails with the
#    install command; none passes silently. Ignored tests, if any, are listed at the end.
#
# Exits non-zero if anything fails. Environment knobs:
#   SKIP_INSTALL=1   install nothing; just report missing tools and fail
#   TB_TRACE=1       every Verilator test dumps an FST waveform (see testbench::verilator)
#   TB_SEED=N        seed for the random initial register state of Verilated models
#   VERILATOR_CACHE_DIR  where built models are cached (default target/verilator-cache)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf '==> %s\n' "$*"; }
err() { printf 'error: %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------
# 1. External tools
# ---------------------------------------------------------------------------

if ! command -v cargo >/dev/null 2>&1; then
    err "cargo not found. Install Rust first: https://rustup.rs"
    err "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
    exit 1
fi

if [ "${SKIP_INSTALL:-0}" = 1 ]; then
    bash scripts/install.sh --check || exit 1
else
    bash scripts/install.sh || exit 1
fi

# ---------------------------------------------------------------------------
# 2. Environment
# ---------------------------------------------------------------------------

if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    XDG_RUNTIME_DIR="$(mktemp -d "${TMPDIR:-/tmp}/xdg-runtime.XXXXXX")"
    chmod 700 "$XDG_RUNTIME_DIR"
    export XDG_RUNTIME_DIR
    trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
fi
export GOLDEN_REQUIRE_GPU="${GOLDEN_REQUIRE_GPU:-1}"

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

# `-p CRATE` arguments narrow the run (e.g. `bash scripts/test.sh -p flow -p gen`);
# without them it is the whole workspace.
scope=(--workspace)
packages=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        -p | --package) packages+=(-p "${args[i + 1]:-}"); scope=() ;;
        -p* | --package=*) packages+=("${args[i]}"); scope=() ;;
    esac
done

ignored=""
if cargo nextest --version >/dev/null 2>&1; then
    run cargo nextest run "${scope[@]}" --no-fail-fast "$@"
    run cargo test "${scope[@]}" "${packages[@]}" --doc
    # nextest counts ignored tests as skipped; name them too.
    ignored="$(cargo nextest list "${scope[@]}" "${packages[@]}" --run-ignored only \
        --message-format oneline 2>/dev/null || true)"
else
    log "cargo-nextest not installed; using cargo test (install: cargo install cargo-nextest --locked)"
    run cargo test "${scope[@]}" --no-fail-fast "$@"
fi

if [ -n "$ignored" ]; then
    log "skipped (#[ignore]) tests:"
    sed 's/^/  /' <<<"$ignored"
fi
if [ "${#failed[@]}" -gt 0 ]; then
    err "failed:"
    printf '  %s\n' "${failed[@]}" >&2
    exit 1
fi
log "all tests passed"

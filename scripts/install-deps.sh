#!/usr/bin/env bash
# Installs the Debian packages kiln's hardware flow and tests use, if any is missing.
# Used by `make setup` (hence `make demo` / `make test`) and by .ci/run.
set -euo pipefail
PACKAGES=(verilator zlib1g-dev iverilog yosys nextpnr-ice40 fpga-icestorm libonnx-testdata ccache g++ make tcl chromium redis-server)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "kiln needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

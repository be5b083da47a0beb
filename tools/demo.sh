#!/bin/bash
# Installs ceilometer-backup into .venv and runs its no-server demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
exec .venv/bin/ceilometer-backup demo "$@"

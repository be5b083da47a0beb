#!/bin/bash
# Creates .venv and installs ceilometer-backup (both sides) into it, with any
# requirement files given as arguments, under the newest release's upper
# constraints. Run by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# tox 4 leaves a file named .venv pointing at its last environment.
[ -f .venv ] && rm -f .venv
if ! python3 -m venv .venv; then
    # Debian's python3 ships venv separately.
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv .venv
fi
requirements=()
for file in "$@"; do
    requirements+=(-r "$file")
done
# The newest release's upper constraints held, as on the older releases
# (tools/release.sh): what is tested is what installs, run after run.
.venv/bin/pip install --quiet -c tools/constraints/2026.2.txt \
    -e '.[ceilometer]' "${requirements[@]}"

#!/bin/bash
# Installs everything the tests need and runs lint, the configuration
# sample check, the docs build (-W) and the whole test suite. Run as root
# on Debian 12: it installs Debian's rabbitmq-server, postgresql and
# prometheus, and the services whose pins differ from Cinder's and
# Ceilometer's in virtualenvs of their own (tools/provision.sh). The
# tests start and stop their own servers, once per session or module;
# nothing is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/provision.sh test-requirements.txt doc/requirements.txt

echo '== ruff'
PATH="$PWD/.venv/bin:$PATH" bash tools/lint.sh

echo '== configuration sample is up to date'
sample=$(mktemp)
.venv/bin/oslo-config-generator \
    --config-file etc/oslo-config-generator/ceilometer-backup.conf \
    --output-file "$sample"
diff -u etc/ceilometer-backup.conf.sample "$sample"
rm -f "$sample"

echo '== docs (-W: a warning fails), and the links between pages'
.venv/bin/sphinx-build -W -q -b html doc/source doc/build/html
.venv/bin/sphinx-build -W -q -b linkcheck doc/source doc/build/linkcheck

pytest=(.venv/bin/python -m pytest -p no:cacheprovider -W ignore::DeprecationWarning --durations=15)
echo '== pytest: inside Cinder'"'"'s test harness (eventlet-patched, own process)'
"${pytest[@]}" tests/cinder_harness "$@"

# The ten-minute Gnocchi outage mostly waits: it runs in a pytest process
# of its own (its own servers, on ports of its own) beside everything
# else, and is waited for, never killed, so that its servers are stopped.
outage=tests/functional/test_gnocchi_outage.py
outage_log=$(mktemp)
"${pytest[@]}" "$outage" "$@" > "$outage_log" 2>&1 &
outage_pid=$!
failed=0
echo '== pytest: unit and functional (but the outage)'
"${pytest[@]}" tests/unit tests/functional --ignore "$outage" "$@" || failed=1

# The SLURP releases before: each in its own virtualenv, Python and
# constraints.
for release in 2024.1 2025.1; do
    bash tools/release.sh "$release" || failed=1
done

wait "$outage_pid" || failed=1
echo "== pytest: $outage (ran beside the rest)"
cat "$outage_log"
rm -f "$outage_log"
exit "$failed"

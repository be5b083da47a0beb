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

pytest=(.venv/bin/python -m pytest -p no:cacheprovider -W ignore::DeprecationWarning)
echo '== pytest: inside Cinder'"'"'s test harness (eventlet-patched, own process)'
"${pytest[@]}" tests/cinder_harness "$@"
echo '== pytest: unit and functional'
"${pytest[@]}" tests/unit tests/functional "$@"

# The SLURP release before: its own virtualenv, Python and constraints.
bash tools/release.sh 2024.1

#!/bin/bash
# Installs everything the tests need and runs lint, the configuration
# sample check, the docs build (-W) and the whole test suite. Run as root
# on Debian 12: it installs Debian's rabbitmq-server, postgresql,
# memcached, prometheus and Ceph, and the services whose pins differ from
# Cinder's and Ceilometer's in virtualenvs of their own
# (tools/provision.sh). The tests start and stop their own servers, once
# per session or module; nothing is left running once it ends.
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

# Beside the main suite, each in a process of its own and waited for,
# never killed (so that their servers are stopped; an interrupted
# tools/test.sh leaves them to finish): the older releases' virtualenvs
# are made, and the two tests that mostly wait (a ten-minute Gnocchi
# outage, four rating periods) run with servers of their own on ports of
# their own. Arguments go to the other pytest runs only.
releases=(2024.1 2025.1)
waiting=(tests/functional/test_gnocchi_outage.py
         tests/functional/test_stored_billing.py)
logs=$(mktemp -d)
(for release in "${releases[@]}"; do
     bash tools/release.sh "$release" install || exit 1
 done) > "$logs/install" 2>&1 &
install_pid=$!
"${pytest[@]}" "${waiting[@]}" > "$logs/waiting" 2>&1 &
waiting_pid=$!

failed=0
echo '== pytest: unit and functional (but the two beside)'
"${pytest[@]}" tests/unit tests/functional \
    "${waiting[@]/#/--ignore=}" "$@" || failed=1

wait "$install_pid" || failed=1
echo "== the older releases' virtualenvs (made beside)"
grep -v '^WARNING: Location' "$logs/install" || true
for release in "${releases[@]}"; do
    bash tools/release.sh "$release" test || failed=1
done

wait "$waiting_pid" || failed=1
echo "== pytest: ${waiting[*]} (ran beside)"
cat "$logs/waiting"
rm -rf "$logs"
exit "$failed"

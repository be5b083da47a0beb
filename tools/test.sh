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

bash tools/provision.sh test-requirements.txt doc/requirements.txt \
    tests/cinder_unit/requirements.txt

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
logs=$(mktemp -d)
# Each part that fails writes its name to $failed, so that the last lines
# of a long log say which parts to look for above.
failed=$logs/failed

# Beside the main suite, in two processes of their own, waited for and
# never killed (so that their servers are stopped; an interrupted
# tools/test.sh leaves them to finish): the tests inside Cinder's harness
# (eventlet-patched: a pytest process of their own), then the releases
# and Pythons of
# `tools/release.sh list` have their virtualenvs made (three at a time:
# mostly downloads), then their suites run one after another, all at a
# lower CPU priority than the main suite, whose many servers have
# deadlines to keep, until it ends (then at the same priority: on a
# loaded machine a niced stream would otherwise crawl on long after
# it); and the two tests that mostly wait (a ten-minute
# Gnocchi outage, four rating periods) run with servers of their own on
# ports of their own, after Cinder's own backup unit tests with the
# plugin in Cinder's place (tests/cinder_unit, half a minute, beside the
# main suite's unit tests), then, once the virtualenvs are made, 2024.1's
# real-services test (beside the releases' suites). Arguments go to the
# other pytest runs only.
waiting=(tests/functional/test_gnocchi_outage.py
         tests/functional/test_stored_billing.py)
pairs=$(bash tools/release.sh list)
(export logs failed
 renice -n 10 -p "$BASHPID" >/dev/null || true
 echo '== pytest: inside Cinder'"'"'s test harness (eventlet-patched, own process)'
 "${pytest[@]}" tests/cinder_harness "$@" ||
     echo "inside Cinder's test harness (tests/cinder_harness)" >>"$failed"
 xargs -P 3 -L 1 bash -c 'bash tools/release.sh "$1" "$2" install ||
     echo "$1 on Python $2: not made" >>"$failed"' _ <<<"$pairs"
 touch "$logs/made"
 while read -r release python; do
     bash tools/release.sh "$release" "$python" suites </dev/null ||
         echo "$release on Python $python: suites" >>"$failed"
 done <<<"$pairs") > "$logs/releases" 2>&1 &
releases_pid=$!
(echo '== Cinder'"'"'s own backup unit tests, stock and with the plugin in its place'
 .venv/bin/python -m tests.cinder_unit ||
     echo "Cinder's backup unit tests with the plugin (tests/cinder_unit)" >>"$failed"
 echo "== pytest: ${waiting[*]}"
 "${pytest[@]}" "${waiting[@]}" || echo "${waiting[*]}" >>"$failed"
 while [ ! -e "$logs/made" ] && kill -0 "$releases_pid" 2>/dev/null; do
     sleep 5
 done
 bash tools/release.sh 2024.1 3.10 services ||
     echo "2024.1 on Python 3.10: real services" >>"$failed"
) > "$logs/waiting" 2>&1 &
waiting_pid=$!

echo '== pytest: unit and functional (but the two beside)'
"${pytest[@]}" tests/unit tests/functional \
    "${waiting[@]/#/--ignore=}" "$@" ||
    echo "unit and functional (main suite)" >>"$failed"

# The releases' stream and every process under it, at the main suite's
# priority now (their children inherit it).
under() { echo "$1"; for child in $(pgrep -P "$1" 2>/dev/null); do under "$child"; done; }
renice -n 0 -p $(under "$releases_pid") >/dev/null 2>&1 || true
wait "$releases_pid" || echo "the releases' stream (exit $?)" >>"$failed"
echo "== Cinder's harness, then the releases and Pythons of tools/release.sh list (ran beside)"
grep -v '^WARNING: Location' "$logs/releases" || true

wait "$waiting_pid" || echo "the waiting tests' stream (exit $?)" >>"$failed"
echo "== Cinder's own backup unit tests, ${waiting[*]}, then 2024.1's real services (ran beside)"
cat "$logs/waiting"
echo '== nothing left behind: the network namespaces and links of testcloud.hosts'
left=$(.venv/bin/python -c 'from testcloud.hosts import leftovers; print(*leftovers())')
if [ -n "$left" ]; then
    echo "left behind: $left"
    echo "network namespaces or links left behind: $left" >>"$failed"
fi
if [ -s "$failed" ]; then
    echo "== FAILED (each is above under its == heading):"
    sed 's/^/   /' "$failed"
    rm -rf "$logs"
    exit 1
fi
rm -rf "$logs"
echo '== every part passed'

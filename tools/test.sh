#!/bin/bash
# Installs everything the tests need and runs lint, the configuration
# sample check and the whole test suite. Run as root on Debian 12: it
# installs Debian's rabbitmq-server (the tests start and stop their own
# broker; nothing is left running).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || ! command -v epmd >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        rabbitmq-server >/dev/null
fi

bash tools/install.sh test-requirements.txt

echo '== ruff'
.venv/bin/ruff check ceilometer_backup tests
.venv/bin/ruff format --check ceilometer_backup tests

echo '== configuration sample is up to date'
sample=$(mktemp)
.venv/bin/oslo-config-generator \
    --config-file etc/oslo-config-generator/ceilometer-backup.conf \
    --output-file "$sample"
diff -u etc/ceilometer-backup.conf.sample "$sample"
rm -f "$sample"

pytest=(.venv/bin/python -m pytest -p no:cacheprovider -W ignore::DeprecationWarning)
echo '== pytest: inside Cinder'"'"'s test harness (eventlet-patched, own process)'
"${pytest[@]}" tests/cinder_harness "$@"
echo '== pytest: unit and functional'
"${pytest[@]}" tests/unit tests/functional "$@"

#!/bin/bash
# Installs what the tests and benchmarks need: Debian's rabbitmq-server and
# postgresql (not started: the fixtures start their own), .venv with this
# package and the requirement files given as arguments, and Gnocchi 4.7.1
# in a virtualenv of its own (.venv-gnocchi). Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || ! command -v epmd >/dev/null \
        || [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        rabbitmq-server postgresql-15 >/dev/null
fi

bash tools/install.sh "$@"

# Gnocchi's pins need not agree with Cinder's and Ceilometer's.
if [ ! -x .venv-gnocchi/bin/gnocchi-api ]; then
    python3 -m venv .venv-gnocchi
    .venv-gnocchi/bin/pip install --quiet 'gnocchi[postgresql,file]==4.7.1' uwsgi
fi

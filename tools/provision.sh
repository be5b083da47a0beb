#!/bin/bash
# Installs what the tests and benchmarks need: Debian's rabbitmq-server,
# postgresql, memcached, prometheus and Ceph 16.2 (tools/provision-ceph.sh; none of
# them started: the fixtures start their own), .venv with this package and
# the requirement files given as arguments (Cinder 29 and Ceilometer 27
# among them), and a virtualenv of its own for each service whose pins
# need not agree with theirs: Gnocchi 4.7.1, Keystone 30.0.0, Swift
# 2.38.3, CloudKitty 25.0.0, Aodh 23.0.0, and a stock Ceilometer 27.0.0
# (.venv-stock). Each is installed once: a second run finds it and moves
# on. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

# memcached: Swift's proxy caches tokens and S3 secrets in it; redis-server:
# the central agents' coordination (tooz); graphviz: the docs' diagram;
# python3-venv
# for the virtualenvs below, made before tools/install.sh runs.
if [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || ! command -v epmd >/dev/null \
        || [ ! -x /usr/lib/postgresql/15/bin/initdb ] \
        || ! command -v memcached >/dev/null \
        || [ ! -x /usr/bin/redis-server ] || ! command -v dot >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        rabbitmq-server postgresql-15 memcached redis-server graphviz \
        python3-venv \
        >/dev/null
fi

# service_venv DIR COMMAND PACKAGE...: DIR holds COMMAND once installed.
service_venv() {
    local dir=$1 command=$2
    shift 2
    if [ ! -x "$dir/bin/$command" ]; then
        { python3 -m venv "$dir" && "$dir/bin/pip" install --quiet "$@"; } ||
            { echo "provision: $dir failed" >&2; return 1; }
    fi
}
gnocchi_venv() {
    local gnocchi='gnocchi[postgresql,file,keystone,redis]==4.7.1'
    service_venv .venv-gnocchi gnocchi-api "$gnocchi" uwsgi
    # Gnocchi behind Keystone (tests/functional/test_tls.py):
    # keystonemiddleware; several metricd coordinated through Redis
    # (tests/functional/test_gnocchi_outage.py): redis. Also in a
    # .venv-gnocchi made before they were asked for.
    .venv-gnocchi/bin/python -c 'import keystonemiddleware, redis' \
        2>/dev/null || .venv-gnocchi/bin/pip install --quiet "$gnocchi"
}
# The services' virtualenvs owe nothing to one another or to .venv: they
# are made beside the rest (two of them compile uwsgi; Gnocchi's psycopg2
# builds with the pg_config that postgresql-common, above, diverts), and
# waited for.
services=()
gnocchi_venv & services+=($!)
service_venv .venv-keystone keystone-manage keystone==30.0.0 uwsgi \
    psycopg2-binary & services+=($!)
# Swift behind Keystone, for Cinder's Swift and S3 backup drivers
# (testcloud/swift.py).
# (s3token asks Keystone as a service, with python-keystoneclient).
service_venv .venv-swift swift-proxy-server swift==2.38.3 \
    keystonemiddleware python-keystoneclient & services+=($!)
# Their databases are SQLite: see testcloud/cloudkitty.py and aodh.py.
service_venv .venv-cloudkitty cloudkitty-processor cloudkitty==25.0.0 &
services+=($!)
service_venv .venv-aodh aodh-listener aodh==23.0.0 & services+=($!)
# A step below that fails still waits for them.
trap wait EXIT

bash tools/provision-prometheus.sh

bash tools/install.sh "$@"
bash tools/provision-ceph.sh .venv

# Ceilometer 27 without this plugin, at .venv's versions: the agent after
# `pip uninstall ceilometer-backup` (tests/functional/test_uninstall.py),
# and benchmark 4's baseline.
if [ ! -x .venv-stock/bin/ceilometer-agent-notification ]; then
    python3 -m venv .venv-stock
    .venv/bin/pip freeze --exclude-editable > .venv-stock/constraints.txt
    .venv-stock/bin/pip install --quiet -c .venv-stock/constraints.txt \
        ceilometer==27.0.0
fi

failed=0
for pid in "${services[@]}"; do
    wait "$pid" || failed=1
done
[ "$failed" = 0 ] || { echo 'a service virtualenv failed: see above' >&2; exit 1; }
trap - EXIT

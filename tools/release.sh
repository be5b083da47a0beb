#!/bin/bash
# An older OpenStack release's Cinder and Ceilometer on a Python its
# operators run, in a virtualenv of its own (.venv-RELEASE, made once),
# installed as the install pages say: this package with its [ceilometer]
# extra, the release's Cinder and Ceilometer pinned, the release's upper
# constraints (tools/constraints/RELEASE.txt) held. Then the unit suite
# and the Cinder harness's POSIX suite run there, unchanged, and on the
# oldest release the real-services test (Keystone, the four Cinder
# services, RabbitMQ, Ceilometer's agents and Gnocchi), its Cinder and
# Ceilometer from this virtualenv, Keystone and Gnocchi from their own.
#
#   bash tools/release.sh 2024.1 [install|test]   (default: both)
#
# The docs tests stay with the main suite (the docs are built once, with
# .venv's Sphinx), and so does the harness's Ceph suite: Debian 12's
# python3-rados is built for its own Python 3.11 only.
set -euo pipefail
cd "$(dirname "$0")/.."

release=${1:?usage: tools/release.sh RELEASE [install|test]}
step=${2:-all}
case $step in
    all|install|test) ;;
    *) echo "usage: tools/release.sh RELEASE [install|test]" >&2; exit 2 ;;
esac
case $release in
    # The oldest also runs the real-services test: the manager hooks
    # (tests/functional/test_openstack.py) are the fragile part.
    2024.1) python=3.10 cinder=24.5.0 ceilometer=22.0.1
        real_services=tests/functional/test_openstack.py ;;
    2025.1) python=3.12 cinder=26.3.0 ceilometer=24.0.2 ;;
    *) echo "no such release here: $release (tools/release.sh)" >&2; exit 2 ;;
esac
venv=.venv-$release

if [ "$step" != test ] && [ ! -x "$venv/bin/cinder-backup" ]; then
    interpreter=$(ls -d "$HOME"/.pyenv/versions/$python.*/bin/python | tail -1)
    "$interpreter" -m venv "$venv"
    # test-requirements.txt pins the newest Cinder and Ceilometer, and its
    # lower bounds are the newest release's: the release's constraints
    # decide here.
    grep -v -E '^(cinder|ceilometer)==' test-requirements.txt |
        sed -E 's/[<>=!~;].*//; s/ *#.*//' | grep . \
        > "$venv/test-requirements.txt"
    "$venv/bin/pip" install --quiet -c "tools/constraints/$release.txt" \
        "cinder==$cinder" "ceilometer==$ceilometer" -e '.[ceilometer]' \
        -r "$venv/test-requirements.txt"
fi

[ "$step" = install ] && exit 0
if [ ! -x "$venv/bin/cinder-backup" ]; then
    echo "$venv is not made: run tools/release.sh $release install" >&2
    exit 1
fi

pytest=("$venv/bin/python" -m pytest -p no:cacheprovider -W ignore::DeprecationWarning)
echo "== $release ($("$venv/bin/python" --version), cinder $cinder, ceilometer $ceilometer): Cinder's harness, POSIX"
"${pytest[@]}" tests/cinder_harness/test_posix_driver.py
echo "== $release: unit"
"${pytest[@]}" tests/unit --ignore tests/unit/test_docs.py
if [ -n "${real_services:-}" ]; then
    echo "== $release: $real_services, Cinder and Ceilometer from $venv"
    CINDER_VENV=$venv "${pytest[@]}" "$real_services"
fi

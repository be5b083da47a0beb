#!/bin/bash
# An OpenStack release's Cinder and Ceilometer on a Python its operators
# run, in a virtualenv of its own (.venv-RELEASE-pyPYTHON, made once),
# installed as the install pages say: this package with its [ceilometer]
# extra, the release's Cinder and Ceilometer pinned, the release's upper
# constraints (tools/constraints/RELEASE.txt) held. Then the unit suite
# and the Cinder harness's POSIX suite run there, unchanged, and on the
# oldest release's oldest Python the real-services test (Keystone, the
# four Cinder services, RabbitMQ, Ceilometer's agents and Gnocchi), its
# Cinder and Ceilometer from this virtualenv, Keystone and Gnocchi from
# their own.
#
#   bash tools/release.sh RELEASE PYTHON [install|suites|services]
#                                   (default: all three, in that order)
#   bash tools/release.sh list [all]
#
# The Pythons are those the release's tested runtimes name from 3.10 up
# (openstack/governance reference/runtimes/RELEASE.rst). `list` names what
# tools/test.sh runs: each release on its oldest and its newest Python,
# as the runtimes pages themselves allow ("anything that works on Python
# 3.10 and 3.13 will also work" on those between); `list all` names every
# pair. `list` leaves out 2026.2 on Python 3.11: the main suite itself,
# in .venv (tools/install.sh, under the same constraints). The
# docs tests stay with the main suite (the docs are built once, with
# .venv's Sphinx), and so does the harness's Ceph suite: Debian 12's
# python3-rados is built for its own Python 3.11 only.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    echo "usage: tools/release.sh RELEASE PYTHON [install|suites|services] | list [all]" >&2
    exit 2
}
# release RELEASE: sets pythons, cinder, ceilometer and real_services.
release() {
    real_services=
    case $1 in
        # The oldest also runs the real-services test: the manager hooks
        # (tests/functional/test_openstack.py) are the fragile part.
        2024.1) pythons='3.10 3.11' cinder=24.5.0 ceilometer=22.0.1
            real_services=tests/functional/test_openstack.py ;;
        2025.1) pythons='3.10 3.11 3.12' cinder=26.3.0 ceilometer=24.0.2 ;;
        2026.1) pythons='3.10 3.11 3.12 3.13' cinder=28.0.0 ceilometer=26.0.0 ;;
        2026.2) pythons='3.11 3.12 3.13' cinder=29.0.0 ceilometer=27.0.0 ;;
        *) echo "no such release here: $1 (tools/release.sh)" >&2; exit 2 ;;
    esac
}
releases='2024.1 2025.1 2026.1 2026.2'
main='2026.2 3.11'

if [ "${1:-}" = list ]; then
    case ${2:-} in ''|all) ;; *) usage ;; esac
    for r in $releases; do
        release "$r"
        if [ "${2:-}" = all ]; then
            chosen=$pythons
        else
            # The oldest and the newest (the same when there is one).
            chosen=$(printf '%s\n' ${pythons%% *} ${pythons##* } | uniq)
        fi
        for p in $chosen; do
            # The main suite is the newest release on .venv's Python.
            [ "${2:-}" != all ] && [ "$r $p" = "$main" ] && continue
            echo "$r $p"
        done
    done
    exit 0
fi
{ [ $# -ge 2 ] && [ $# -le 3 ]; } || usage
release "$1"
python=$2
step=${3:-all}
case $step in
    all|install|suites|services) ;;
    *) usage ;;
esac
case " $pythons " in
    *" $python "*) ;;
    *) echo "$1 is tested on Python $pythons, not $python" >&2; exit 2 ;;
esac
[ "$python" = "${pythons%% *}" ] || real_services=
if [ "$step" = services ] && [ -z "$real_services" ]; then
    echo "$1 on Python $python has no real-services test here" >&2
    exit 2
fi
venv=.venv-$1-py$python
# What the virtualenv is made of: made again when a pin or the
# constraints or requirements change, not kept from an earlier checkout.
stamp="cinder==$cinder ceilometer==$ceilometer $(sha256sum "tools/constraints/$1.txt" requirements.txt test-requirements.txt | cut -c1-64 | tr '\n' ' ')"

# interpreter: the newest CPython $python from pyenv (these machines'),
# else python$python on PATH (a distribution's).
interpreter() {
    local found
    found=$(ls -d "$HOME"/.pyenv/versions/* 2>/dev/null |
        grep -E "/$python\.[0-9]+$" | sort -V | tail -1)
    if [ -n "$found" ]; then
        echo "$found/bin/python"
    elif command -v "python$python" >/dev/null; then
        command -v "python$python"
    else
        echo "no Python $python: neither pyenv's nor python$python on PATH" >&2
        return 1
    fi
}

if { [ "$step" = all ] || [ "$step" = install ]; } &&
        [ "$(cat "$venv/made-of" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$venv"
    interpreter=$(interpreter)
    "$interpreter" -m venv "$venv"
    # test-requirements.txt pins the newest Cinder and Ceilometer, and its
    # lower bounds are the newest release's: the release's constraints
    # decide here.
    grep -v -E '^(cinder|ceilometer)==' test-requirements.txt |
        sed -E 's/[<>=!~;].*//; s/ *#.*//' | grep . \
        > "$venv/test-requirements.txt"
    "$venv/bin/pip" install --quiet -c "tools/constraints/$1.txt" \
        "cinder==$cinder" "ceilometer==$ceilometer" -e '.[ceilometer]' \
        -r "$venv/test-requirements.txt"
    echo "$stamp" > "$venv/made-of"
    echo "== $1 on Python $python: $venv made in ${SECONDS} s"
fi

[ "$step" = install ] && exit 0
if [ "$(cat "$venv/made-of" 2>/dev/null)" != "$stamp" ]; then
    echo "$venv is not made as tools/release.sh says:" \
        "run tools/release.sh $1 $python install" >&2
    exit 1
fi

pytest=("$venv/bin/python" -m pytest -p no:cacheprovider -W ignore::DeprecationWarning)
if [ "$step" != services ]; then
    echo "== $1 ($("$venv/bin/python" --version), cinder $cinder, ceilometer $ceilometer): Cinder's harness, POSIX"
    "${pytest[@]}" tests/cinder_harness/test_posix_driver.py
    echo "== $1 on Python $python: unit"
    "${pytest[@]}" tests/unit --ignore tests/unit/test_docs.py
fi
if [ "$step" != suites ] && [ -n "$real_services" ]; then
    echo "== $1 on Python $python: $real_services, Cinder and Ceilometer from $venv"
    CINDER_VENV=$venv "${pytest[@]}" "$real_services"
fi

"""Runs Cinder's backup unit tests stock and metered, both at once, and
compares their outcomes (see the package's docstring)."""

import configparser
import json
import pathlib
import subprocess
import sys
import tempfile
import time

from tests.cinder_unit import FAILED

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent.parent
DIFFERENCES = HERE / 'differences.ini'
# Of a failure's traceback, the end: Cinder's tests put their whole log
# before it.
SHOWN = 3000
MODES = ('stock', 'metered')


def _runs(folder):
    """Each mode's outcomes, from a process of its own (they share the two
    cores); None for a mode whose process failed."""
    started = {}
    for mode in MODES:
        output = str(folder / f'{mode}.json')
        with open(folder / f'{mode}.log', 'wb') as log:
            started[mode] = subprocess.Popen(
                [sys.executable, '-m', 'tests.cinder_unit.run', mode, output],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
    outcomes = {}
    for mode, process in started.items():
        if process.wait() != 0:
            print(f'the {mode} run exited {process.returncode}:')
            print((folder / f'{mode}.log').read_text()[-SHOWN:])
            outcomes[mode] = None
        else:
            outcomes[mode] = json.loads((folder / f'{mode}.json').read_text())
    return outcomes


def _passed(entry):
    return entry['outcome'] not in FAILED


def compare(stock, metered, listed):
    """What is wrong: one line (and a traceback) each."""
    problems = []
    unloaded = [name for name in stock if name.startswith('unittest.')]
    for name in unloaded:
        problems.append(
            f'{name}: a test module could not be imported (is a test '
            "dependency of Cinder's missing?)\n"
            + stock[name].get('traceback', '')[-SHOWN:]
        )
    if not stock:
        problems.append('no test ran')
    if set(stock) != set(metered):
        problems.append(
            'the two runs ran different tests: '
            f'{sorted(set(stock) ^ set(metered))}'
        )
    differing = {
        name
        for name in set(stock) & set(metered)
        if _passed(stock[name]) != _passed(metered[name])
    }
    for name in sorted(differing - set(listed)):
        failed = metered[name] if _passed(stock[name]) else stock[name]
        problems.append(
            f'{name}: {stock[name]["outcome"]} stock, '
            f'{metered[name]["outcome"]} with the plugin, and not in '
            f'{DIFFERENCES.name}\n' + failed.get('traceback', '')[-SHOWN:]
        )
    for name, reason in listed.items():
        if not reason.strip():
            problems.append(
                f'{name}: listed in {DIFFERENCES.name} without a reason'
            )
    for name in sorted(set(listed) - differing):
        problems.append(
            f'{name}: listed in {DIFFERENCES.name} but no longer differs '
            f'({stock.get(name, {}).get("outcome")} stock, '
            f'{metered.get(name, {}).get("outcome")} with the plugin)'
        )
    return problems, differing


def listed_differences():
    """Test id -> reason, as ``differences.ini`` lists them."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # test ids are case-sensitive
    parser.read(DIFFERENCES)
    return dict(parser['differences'])


def main():
    listed = listed_differences()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        outcomes = _runs(pathlib.Path(folder))
    if None in outcomes.values():
        return 1
    problems, differing = compare(
        outcomes['stock'], outcomes['metered'], listed
    )
    for problem in problems:
        print(problem)
    stock = outcomes['stock']
    print(
        f"Cinder's backup unit tests: {len(stock)} run stock and with the "
        f'plugin in {time.monotonic() - started:.0f} s; '
        f'{sum(not _passed(e) for e in stock.values())} fail stock; '
        f'{len(differing)} differ, {len(listed)} listed in '
        f'{DIFFERENCES.name}; {len(problems)} problems'
    )
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())

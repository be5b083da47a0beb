"""The generated references cover the code: a meter or an option added
without documentation fails here, not in an operator's hands."""

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

from ceilometer_backup import opts
from ceilometer_backup.meter import meters

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / 'doc' / 'source'


def _extension():
    spec = importlib.util.spec_from_file_location(
        'docs_meters', SOURCE / '_ext' / 'meters.py'
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_meter_has_a_description_and_no_stale_one():
    names = [m.name for m in meters.REFERENCE]
    assert sorted(meters.DESCRIPTIONS) == sorted(names)
    for name in names:
        assert meters.DESCRIPTIONS[name].strip(), name


def test_the_directive_lists_every_meter():
    rows = _extension().rows()
    assert [r[:3] for r in rows] == [tuple(m) for m in meters.REFERENCE]


def test_the_pages_use_the_generated_references():
    assert '```{backup-meters}' in (SOURCE / 'meters.md').read_text()
    assert '.. show-options:: ceilometer_backup' in (
        (SOURCE / 'configuration.md').read_text()
    )


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """The HTML of a -W build: warnings (a broken local link) fail it."""
    out = tmp_path_factory.mktemp('html')
    subprocess.run(
        [sys.executable, '-m', 'sphinx', '-W', '-q', '-E', '-b', 'html']
        + [str(SOURCE), str(out)],
        check=True,
        cwd=ROOT,
    )
    return out


def test_the_built_meters_page_has_every_meter(built):
    page = (built / 'meters.html').read_text()
    table = page[page.index('backup-meters') :]
    table = table[: table.index('</table>')]
    cells = [re.sub(r'<[^>]+>|\s', '', c) for c in table.split('<td>')]
    for meter in meters.REFERENCE:
        assert meter.name in cells, meter


def test_the_built_configuration_page_has_every_option(built):
    page = (built / 'configuration.html').read_text()
    for group, options in opts.list_opts():
        for opt in options:
            assert f'id="{group}.{opt.dest}"' in page, (group, opt.dest)


def _pairs(*args):
    """``tools/release.sh list ARGS``: the Pythons of each release."""
    listed = subprocess.run(
        ['bash', str(ROOT / 'tools' / 'release.sh'), 'list', *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pairs = {}
    for line in listed.splitlines():
        release, python = line.split()
        pairs.setdefault(release, []).append(python)
    return pairs


def _versions(script, release):
    """Cinder's and Ceilometer's versions release.sh holds for a release."""
    return re.search(
        rf'^ *{re.escape(release)}\) pythons=.* cinder=(\S+) '
        r'ceilometer=(\S+)',
        script,
        re.M,
    ).groups()


def test_the_releases_table_is_what_tools_release_sh_tests():
    """The supported releases and Pythons a reader is told are those
    tools/release.sh installs and tests, and .ci/run's are its list."""
    script = (ROOT / 'tools' / 'release.sh').read_text()
    main_release, main_python = re.search(
        r"^main='(\S+) (\S+)'$", script, re.M
    ).groups()
    # .venv (the main suite) and tox are made under its constraints, with
    # its Cinder and Ceilometer.
    constraints = f'tools/constraints/{main_release}.txt'
    assert f'-c {constraints}' in (ROOT / 'tools' / 'install.sh').read_text()
    tox = (ROOT / 'tox.ini').read_text()
    assert tox.count('TOX_CONSTRAINTS_FILE:') == tox.count(constraints) > 0
    cinder, ceilometer = _versions(script, main_release)
    test_requirements = (ROOT / 'test-requirements.txt').read_text()
    assert {f'cinder=={cinder}', f'ceilometer=={ceilometer}'} <= set(
        test_requirements.splitlines()
    )
    every, in_ci = _pairs('all'), _pairs()
    in_ci.setdefault(main_release, []).insert(0, main_python)
    table = re.search(
        r'^\| OpenStack release .*?\n\n',
        (SOURCE / 'index.md').read_text(),
        re.M | re.S,
    ).group(0)
    rows = {}
    for line in table.strip().splitlines()[2:]:
        release, versions, pythons, ci = (
            cell.strip() for cell in line.strip('|').split('|')
        )
        rows[release.split()[0]] = (versions, pythons, ci)
    assert sorted(rows) == sorted(every)
    for release, (versions, pythons, ci) in rows.items():
        assert versions == ' / '.join(_versions(script, release))
        assert pythons.split(', ') == every[release]
        assert ci.split(', ') == in_ci[release]


# The packages development.md draws module by module; the rest it draws
# by folder.
DRAWN_PACKAGES = ('ceilometer_backup', 'testcloud')
# A line of the layout naming a folder, or one or more modules.
_LAYOUT_ENTRY = re.compile(r'[\w.]+/|[\w.]+\.py(?:,\s*[\w.]+\.py)*')


def _drawn_layout():
    """Every path the layout block of development.md names: a folder
    holds the entries indented below it."""
    page = (SOURCE / 'development.md').read_text()
    block = page.split('## Layout', 1)[1].split('```', 2)[1]
    paths, folders = set(), []
    for line in block.splitlines():
        text = line.lstrip()
        entry = _LAYOUT_ENTRY.match(text)
        if not entry:
            continue  # a description's next line
        del folders[(len(line) - len(text)) // 2 :]
        names = re.findall(r'[\w.]+/?', entry.group(0))
        paths.update('/'.join(folders + [n.rstrip('/')]) for n in names)
        if names[0].endswith('/'):
            folders.append(names[0].rstrip('/'))
    return paths


def test_the_layout_draws_every_module_where_it_is():
    on_disk = {
        str(path.relative_to(ROOT))
        for package in DRAWN_PACKAGES
        for path in (ROOT / package).rglob('*.py')
        if path.name != '__init__.py'
    }
    drawn = {p for p in _drawn_layout() if p.endswith('.py')}
    assert sorted(on_disk - drawn) == []
    # A package's __init__.py may be drawn where it holds code.
    assert sorted(p for p in drawn if not (ROOT / p).is_file()) == []


def test_every_folder_the_layout_draws_exists():
    folders = [p for p in _drawn_layout() if not p.endswith('.py')]
    assert sorted(p for p in folders if not (ROOT / p).is_dir()) == []

"""The ``backup-meters`` directive: the meters table, from the code.

Name, type and unit come from ``ceilometer_backup.meter.meters.REFERENCE``
and the description from ``DESCRIPTIONS`` next to them, so a meter added
to the code appears here on the next build, and one without a description
fails ``tests/unit/test_docs.py``.
"""

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

HEADER = ('meter', 'type', 'unit', 'description')


def rows():
    """One (name, type, unit, description) tuple per meter, in order."""
    from ceilometer_backup.meter import meters

    return [
        (m.name, m.type, m.unit, meters.DESCRIPTIONS[m.name])
        for m in meters.REFERENCE
    ]


def _row(cells, literal_first=False):
    row = nodes.row()
    for i, text in enumerate(cells):
        entry = nodes.entry()
        para = nodes.paragraph()
        if literal_first and i == 0:
            para += nodes.literal(text, text)
        else:
            para += nodes.Text(text)
        entry += para
        row += entry
    return row


class BackupMeters(SphinxDirective):
    """Renders ``rows()`` as a table."""

    has_content = False

    def run(self):
        table = nodes.table(classes=['backup-meters'])
        group = nodes.tgroup(cols=len(HEADER))
        table += group
        for width in (22, 8, 8, 62):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        head += _row(HEADER)
        group += head
        body = nodes.tbody()
        for cells in rows():
            body += _row(cells, literal_first=True)
        group += body
        return [table]


def setup(app):
    app.add_directive('backup-meters', BackupMeters)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}

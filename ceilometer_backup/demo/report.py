"""What the demo prints: a progress bar while a backup runs, then the
samples the agent published, and the backups' sizes side by side, so
that an operator sees which figure bills what.
"""

import time

from ceilometer_backup.meter import meters


class ProgressBar:
    """Draws the latest ``backup.progress`` sample the agent published."""

    def __init__(self, agent, out):
        self.agent = agent
        self.out = out
        self.enabled = out.isatty()

    def _latest(self, operation):
        for sample in reversed(self.agent.published):
            if (
                sample.name == meters.PROGRESS.name
                and sample.resource_metadata.get('operation') == operation
            ):
                return sample.volume
        return 0.0

    def draw(self, label):
        """Draw the latest percentage of operation ``label``."""
        if not self.enabled:
            return
        percent = self._latest(label)
        filled = int(percent // 5)
        self.out.write(
            f'\r{label:<8} [{"#" * filled}{"." * (20 - filled)}] '
            f'{percent:5.1f} %  (backup.progress samples)'
        )
        self.out.flush()

    def finish(self, label, limit=2.0):
        """Draw until the operation's 100 % sample is in, then end the line."""
        deadline = time.monotonic() + limit
        while self.enabled and time.monotonic() < deadline:
            self.draw(label)
            if self._latest(label) >= 100.0:
                break
            time.sleep(0.05)
        if self.enabled:
            self.out.write('\n')


def _detail(sample):
    meta = sample.resource_metadata
    keys = ('operation', 'status', 'fail_reason', 'display_name')
    return ' '.join(f'{k}={meta[k]}' for k in keys if meta.get(k) is not None)


def print_table(samples, out):
    rows = [('meter', 'type', 'unit', 'volume', 'resource', 'metadata')]
    for s in samples:
        rows.append(
            (
                s.name,
                s.type,
                s.unit,
                f'{s.volume:g}',
                s.resource_id[:8],
                f'{s.resource_metadata.get("event_type")} {_detail(s)}',
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(5)]
        print('  '.join(cells + [row[5]]), file=out)


def print_sizes(samples, out):
    """The created backups' sizes side by side, from their samples."""
    sizes = {}
    for s in samples:
        if s.resource_metadata.get('event_type') == 'backup.create.end':
            sizes.setdefault(s.resource_id, {})[s.name] = s
    rows = [('backup', 'kind', 'volume GiB', 'changed bytes', 'stored bytes')]
    for resource_id, meters_of in sizes.items():
        if meters.STORED.name not in meters_of:
            continue
        incremental = meters_of[meters.SIZE.name].resource_metadata.get(
            'is_incremental'
        )
        rows.append(
            (
                resource_id[:8],
                'incremental' if incremental else 'full',
                f'{meters_of[meters.SIZE.name].volume:g}',
                f'{meters_of[meters.CHANGED.name].volume:,.0f}',
                f'{meters_of[meters.STORED.name].volume:,.0f}',
            )
        )
    print('\nWhat each backup of the volume is billed on:', file=out)
    for row in rows:
        print(
            f'{row[0]:<10}{row[1]:<13}{row[2]:>11}{row[3]:>16}{row[4]:>15}',
            file=out,
        )

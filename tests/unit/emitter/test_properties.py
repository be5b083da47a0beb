"""Whatever a backup object holds, the emitter never raises into Cinder."""

import datetime
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceilometer_backup import contract as c
from tests.support.strategies import JUNK, TEXT

ATTRIBUTES = (
    'id',
    'project_id',
    'user_id',
    'display_name',
    'size',
    'created_at',
    'status',
    'volume_id',
    'parent_id',
    'object_count',
    'service_metadata',
    'data_timestamp',
)
VALUES = JUNK | st.datetimes() | st.dates() | st.just(object()) | TEXT


class Odd:
    """A backup whose attributes hold anything, or raise on access."""

    def __init__(self, values, raising):
        self._values = values
        self._raising = raising

    def __getattr__(self, name):
        if name in self._raising:
            raise RuntimeError(f'cannot load {name}')
        if name in self._values:
            return self._values[name]
        raise AttributeError(name)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(
    values=st.dictionaries(st.sampled_from(ATTRIBUTES), VALUES),
    raising=st.sets(st.sampled_from(ATTRIBUTES)),
    as_dict=st.booleans(),
)
def test_odd_backups_still_notify(
    notifier, recorded, values, raising, as_dict
):
    recorded.clear()
    backup = dict(values) if as_dict else Odd(values, raising)
    with notifier.operation(None, backup, c.CREATE) as op:
        op.advance(1024**3)
    assert notifier.flush()
    types = recorded.event_types()
    assert types[0] == 'backup.create.start'
    assert types[-1] == 'backup.create.end'
    for message in recorded.messages:
        json.dumps(message['payload'])
        size = message['payload']['size']
        assert size is None or isinstance(size, int)
        created = message['payload']['created_at']
        if isinstance(values.get('created_at'), datetime.datetime) and (
            as_dict or 'created_at' not in raising
        ):
            assert created == values['created_at'].isoformat()

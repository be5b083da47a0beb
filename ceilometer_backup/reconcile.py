"""Ends the Gnocchi resources of backups that Cinder no longer has.

Ceilometer's Gnocchi publisher drops what it cannot push and does not
retry, so a backup deleted while Gnocchi was down keeps an open resource:
its ``backup.delete.end`` event is gone. Sizes heal at the next polling
cycle; this heals ``ended_at``, by comparing Gnocchi's open backup
resources with what Cinder lists now.
"""

from ceilometer_backup.gnocchi import RESOURCE_TYPE

PAGE = 1000


def open_backup_resources(gnocchi):
    """Ids of every volume_backup resource without ended_at, paged."""
    marker = None
    while True:
        page = gnocchi.resource.search(
            resource_type=RESOURCE_TYPE,
            query={'=': {'ended_at': None}},
            sorts=['id:asc'],
            limit=PAGE,
            marker=marker,
        )
        for resource in page:
            yield resource['id']
        if len(page) < PAGE:
            return
        marker = page[-1]['id']


def end_vanished(gnocchi, live_ids, ended_at):
    """End the open resources whose backup is not in ``live_ids``."""
    ended = [
        resource_id
        for resource_id in open_backup_resources(gnocchi)
        if resource_id not in live_ids
    ]
    for resource_id in ended:
        gnocchi.resource.update(
            RESOURCE_TYPE, resource_id, {'ended_at': ended_at}
        )
    return ended

"""What each backup holds in its store, read back from Gnocchi.

Cinder never rewrites a backup's objects after its create (an incremental
writes objects of its own), so the bytes the create counted are what the
backup holds for as long as it exists. The publisher keeps that figure on
the backup's ``volume_backup`` resource (attribute ``stored_bytes``, set
from ``backup.create.end`` only); the ``backup.stored.size`` pollster
carries it forward every cycle, so storage can be rated by the period
without a call to any backup store. Only Ceilometer's credentials can
write it: nothing a tenant sets on a backup reaches it.
"""

import datetime

from ceilometer import gnocchi_client

from ceilometer_backup.meter.meters import RESOURCE_TYPE, STORED_ATTRIBUTE

PAGE = 1000
OPEN = {'=': {'ended_at': None}}


def open_backup_resources(client, query=OPEN):
    """Every volume_backup resource matching ``query`` (by default, those
    without ended_at), paged by id."""
    marker = None
    while True:
        page = client.resource.search(
            resource_type=RESOURCE_TYPE,
            query=query,
            sorts=['id:asc'],
            limit=PAGE,
            marker=marker,
        )
        yield from page
        if len(page) < PAGE:
            return
        marker = page[-1]['id']


class StoredSizes:
    """``stored_bytes`` of every open backup resource, by backup id.

    Gnocchi builds each resource of a search in full (its metrics too),
    which costs it far more than Cinder's listing costs Cinder. Figures
    do not change, so after the first search of a process only resources
    revised since are asked for (a creation, an attribute update and an
    end each start a revision), from OVERLAP before the latest revision
    seen, for revisions committed out of order.
    """

    OVERLAP = datetime.timedelta(minutes=5)

    def __init__(self, conf):
        self.conf = conf
        self._client = None
        self._held = {}
        self._latest = None

    def by_backup(self):
        if self._client is None:
            self._client = gnocchi_client.get_gnocchiclient(self.conf)
        # Taken only once the whole search is read: a search failing on
        # a page must not leave the pages before it passing for all.
        if self._latest is None:
            query, held = OPEN, {}
        else:
            since = self._latest - self.OVERLAP
            query = {'>=': {'revision_start': since.isoformat()}}
            held = dict(self._held)
        latest = self._latest
        for resource in open_backup_resources(self._client, query):
            backup_id = resource['id']
            figure = resource.get(STORED_ATTRIBUTE)
            if resource.get('ended_at') is not None:
                held.pop(backup_id, None)
            elif figure is not None:
                held[backup_id] = figure
            revised = datetime.datetime.fromisoformat(
                resource['revision_start']
            )
            if latest is None or revised > latest:
                latest = revised
        self._held, self._latest = held, latest
        return held

"""What each backup holds in its store, read back from Gnocchi.

Cinder never rewrites a backup's objects after its create (an incremental
writes objects of its own), so the bytes the create counted are what the
backup holds for as long as it exists. The publisher keeps that figure on
the backup's ``volume_backup`` resource (attribute ``stored_bytes``, set
from ``backup.create.end`` only); the ``backup.stored.size`` pollster
carries it forward every cycle, so storage can be rated by the period
without a call to any backup store. Nothing a tenant sets on a backup
reaches it, and only resources Ceilometer's project created are read.
"""

import datetime

from ceilometer import gnocchi_client

from ceilometer_backup.meter.gnocchi.schema import (
    RESOURCE_TYPE,
    STORED_ATTRIBUTE,
)

PAGE = 1000
# Seconds a request may take: the Gnocchi publisher's own default. A
# polling cycle waits for this pollster, and every later pollster of the
# cycle takes its samples' time from when it starts: a backup deleted
# meanwhile would get a measure after its end, which Gnocchi takes as the
# end being undone. So a Gnocchi that is down or hung costs little time.
TIMEOUT = 6.05
OPEN = {'=': {'ended_at': None}}


def open_backup_resources(client, query=OPEN):
    """Every volume_backup resource matching ``query`` (by default, those
    without ended_at), paged by id.

    Gnocchi cuts a page to its ``[api] max_limit`` without saying so: the
    search ends on an empty page or one shorter than the longest seen.
    """
    marker = None
    longest = 0
    while True:
        page = client.resource.search(
            resource_type=RESOURCE_TYPE,
            query=query,
            sorts=['id:asc'],
            limit=PAGE,
            marker=marker,
        )
        yield from page
        longest = max(longest, len(page))
        if not page or len(page) < longest:
            return
        marker = page[-1]['id']


class StoredSizes:
    """``stored_bytes`` of every open backup resource, by backup id.

    Gnocchi builds each resource of a search in full (its metrics too),
    which costs it far more than Cinder's listing costs Cinder. Figures
    do not change, so between full searches (every FULL_EVERY) only
    resources revised since the last search began are asked for (a
    creation, an attribute update and an end each start a revision), less
    OVERLAP for clocks that differ and revisions committed late.

    Gnocchi's default policy lets anyone create a resource, with the id
    they choose: one a tenant made for its own backup before Ceilometer
    did is the tenant's to update. Only resources created by the project
    of these credentials (Ceilometer's) are trusted; the others are told
    in ``untrusted`` and billed nothing.
    """

    OVERLAP = datetime.timedelta(minutes=5)
    FULL_EVERY = datetime.timedelta(hours=6)

    def __init__(self, conf):
        self.conf = conf
        self._client = None
        self._held = {}
        self._since = None
        self._full_at = None
        self.untrusted = set()

    def by_backup(self):
        if self._client is None:
            self._client = gnocchi_client.get_gnocchiclient(
                self.conf, request_timeout=TIMEOUT
            )
            # Upstream's client tries a refused connection three times
            # more, 3.5 s in all.
            self._client.api.connect_retries = 0
        ours = self._client.api.get_project_id()
        started = datetime.datetime.now(datetime.timezone.utc)
        full = self._since is None or started - self._full_at > self.FULL_EVERY
        # Taken only once the whole search is read: a search failing on
        # a page must not leave the pages before it passing for all.
        if full:
            query, held, untrusted = OPEN, {}, set()
        else:
            since = self._since.isoformat()
            query = {'>=': {'revision_start': since}}
            held, untrusted = dict(self._held), set(self.untrusted)
        for resource in open_backup_resources(self._client, query):
            backup_id = resource['id']
            held.pop(backup_id, None)
            untrusted.discard(backup_id)
            if resource.get('ended_at') is not None:
                continue
            if ours and resource.get('created_by_project_id') != ours:
                untrusted.add(backup_id)
                continue
            figure = resource.get(STORED_ATTRIBUTE)
            if figure is not None:
                held[backup_id] = figure
        self._held, self.untrusted = held, untrusted
        # From when this search began, not from the newest revision it
        # saw: a page read early misses what is revised during the rest.
        self._since = started - self.OVERLAP
        if full:
            self._full_at = started
        return held

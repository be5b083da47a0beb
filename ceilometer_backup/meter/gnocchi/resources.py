"""The resource side of ``backup-gnocchi://``: a backup's resource
created whole, and ended when the backup is deleted.

Upstream posts a batch of measures, gets 400 "Unknown resources" back if
any resource in it is new, creates those one by one without their
metrics, and posts again; Gnocchi then creates each missing metric in a
transaction of its own. Backups are new resources all the time, so the
resources the publisher has not seen yet are created first, each with
the metrics the batch carries for it, and the batch is posted once.

``backup.delete.end`` ends the resource in the publisher's retried path
(``outbox.py``) rather than through the event pipeline, whose failures
upstream drops.
"""

import datetime

from gnocchiclient import exceptions as gnocchi_exc
from oslo_log import log

from ceilometer_backup.meter.gnocchi import schema
from ceilometer_backup.meter.gnocchi.outbox import REFUSALS, transient

LOG = log.getLogger(__name__)

# How long after its last measure a deleted backup's resource ends:
# Gnocchi 4.7's metricd takes the end back (sets ended_at to null) when a
# resource receives a measure at or after its ended_at, and the
# deletion's own measures are at its timestamp.
ENDED_AFTER = datetime.timedelta(milliseconds=1)


def create_new(publisher, measures, resource_infos):
    """Create whole the resources of a batch that ``publisher`` (upstream's,
    whose cache and internals these are) has not seen yet."""
    for resource_id, info in resource_infos.items():
        metrics = measures.get(resource_id)
        if metrics and not publisher.cache.get(resource_id):
            _create_whole(publisher, info, metrics)


def _create_whole(publisher, info, metrics):
    """Create the resource with its metrics. A transient failure fails
    the batch; any other leaves the resource to upstream's path, which
    creates it or logs why not."""
    resource = dict(
        info['resource'],
        **info['resource_extra'],
        # A resource created late (after an outage) may be ended by this
        # batch: it starts at its first measure, not now.
        started_at=min(
            m['timestamp']
            for metric in metrics.values()
            for m in metric['measures']
        ),
        metrics={
            name: {
                'archive_policy_name': metric['archive_policy_name'],
                'unit': metric['unit'],
            }
            for name, metric in metrics.items()
        },
    )
    try:
        publisher._create_resource(info['resource_type'], resource)
    except gnocchi_exc.ResourceAlreadyExists:
        # Created before this process started, or by another batch in
        # flight: the measures go to it, and the attributes are compared
        # and updated after the post as upstream does.
        return
    except REFUSALS as e:
        if transient(e):
            raise
        LOG.debug(
            'Creating resource %s with its metrics failed (%s); '
            'the upstream path retries it',
            resource['id'],
            e,
        )
        return
    publisher.cache.set(
        resource['id'], publisher._hash_resource(info['resource_extra'])
    )


def ended(samples, metric_map):
    """{resource id: (its mapping, ended_at)} of the deleted backups."""
    deleted = {
        s.resource_id: metric_map[s.name]
        for s in samples
        if s.resource_metadata.get('event_type') == schema.DELETE_EVENT
        and s.name in metric_map
    }
    last = {}
    for sample in samples:
        if sample.resource_id in deleted:
            stamp = datetime.datetime.fromisoformat(sample.timestamp)
            last[sample.resource_id] = max(
                stamp, last.get(sample.resource_id, stamp)
            )
    return {
        resource_id: (
            definition,
            (last[resource_id] + ENDED_AFTER).isoformat(),
        )
        for resource_id, definition in deleted.items()
    }


def end(client, deleted):
    """Set ``ended_at`` of the deleted backups' resources, as ``ended``
    gives them."""
    for resource_id, (definition, ended_at) in deleted.items():
        try:
            client.resource.update(
                definition.cfg['resource_type'],
                resource_id,
                {'ended_at': ended_at},
            )
        except gnocchi_exc.ClientException as exc:
            if transient(exc):
                raise
            LOG.warning(
                'Could not end the Gnocchi resource of deleted backup '
                '%(id)s: %(error)s',
                {'id': resource_id, 'error': exc},
            )

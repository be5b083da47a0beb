"""gnocchiclient's ``Client`` in memory, for unit tests of what calls it.

It covers what this project calls: ``resource_type`` get, create and
update (``upgrade``); ``resource`` create, update and search (the
publisher, ``reconcile``); ``metric.batch_resources_metrics_measures``
(the publisher) and ``archive_policy`` create, get and update
(the publisher, ``upgrade``). Every call that changes
something is recorded in ``calls``. The functional tests run the same
code against a real Gnocchi.
"""

import copy
import datetime

from gnocchiclient import exceptions as gnocchi_exc


class FakeGnocchi:
    """``resources`` maps the ids of existing resources to their
    attributes (kept, not copied); ``resource_types`` the existing types;
    ``fail_create`` and ``fail_post`` are raised by the next resource
    creation and the next measures post, ``unreachable`` by every call
    while it is set. ``posted`` holds the measures of each post that
    succeeded, in order."""

    def __init__(
        self,
        resources=None,
        resource_types=None,
        fail_create=None,
        fail_post=None,
    ):
        self.calls = []
        self.resources = {} if resources is None else resources
        self.types = dict(resource_types or {})
        self.fail_create = fail_create
        self.fail_post = fail_post
        self.unreachable = None
        self.posted = []
        self.queries = []
        # Gnocchi's [api] max_limit: the longest page it gives.
        self.max_limit = 1000
        # The project of the credentials (None: Gnocchi's basic auth).
        self.project_id = None
        self.api = _Session(self)
        self.resource = _Resources(self)
        self.resource_type = _ResourceTypes(self)
        self.metric = _Metrics(self)
        self.archive_policy = _ArchivePolicies()


class _Session:
    def __init__(self, gnocchi):
        self.gnocchi = gnocchi

    def get_project_id(self):
        return self.gnocchi.project_id


class _Resources:
    def __init__(self, gnocchi):
        self.gnocchi = gnocchi

    def create(self, resource_type, resource):
        gnocchi = self.gnocchi
        gnocchi.calls.append(('create', resource_type, resource))
        _reach(gnocchi)
        if gnocchi.fail_create is not None:
            error, gnocchi.fail_create = gnocchi.fail_create, None
            raise error
        gnocchi.resources[resource['id']] = dict(
            resource,
            ended_at=None,
            revision_start=_now(),
            created_by_project_id=gnocchi.project_id,
        )

    def update(self, resource_type, resource_id, attributes):
        self.gnocchi.calls.append(('update', resource_type, resource_id))
        _reach(self.gnocchi)
        if resource_id in self.gnocchi.resources:
            self.gnocchi.resources[resource_id].update(
                attributes, revision_start=_now()
            )

    def search(self, resource_type, query, sorts, limit, marker):
        """The searches ``meter/gnocchi/stored.py`` makes, by id: open
        resources, or those revised since a time."""
        assert resource_type == 'volume_backup'
        assert sorts == ['id:asc']
        self.gnocchi.queries.append(query)
        _reach(self.gnocchi)
        if query == {'=': {'ended_at': None}}:

            def matches(r):
                return r.get('ended_at') is None
        else:
            since = _when(query['>=']['revision_start'])

            def matches(r):
                return _when(r['revision_start']) >= since

        ids = sorted(
            i for i, r in self.gnocchi.resources.items() if matches(r)
        )
        start = ids.index(marker) + 1 if marker else 0
        limit = min(limit, self.gnocchi.max_limit)
        return [
            dict(self.gnocchi.resources[i], id=i)
            for i in ids[start : start + limit]
        ]


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _when(text):
    return datetime.datetime.fromisoformat(text)


class _ResourceTypes:
    def __init__(self, gnocchi):
        self.gnocchi = gnocchi

    def get(self, name):
        if name not in self.gnocchi.types:
            raise gnocchi_exc.ResourceTypeNotFound(404)
        return self.gnocchi.types[name]

    def create(self, resource_type):
        self.gnocchi.calls.append(('create', resource_type['name']))
        self.gnocchi.types[resource_type['name']] = resource_type

    def update(self, name, operations):
        self.gnocchi.calls.append(
            ('update', [op['path'] for op in operations])
        )
        for op in operations:
            attribute = op['path'].split('/')[-1]
            self.gnocchi.types[name]['attributes'][attribute] = op['value']


class _Metrics:
    def __init__(self, gnocchi):
        self.gnocchi = gnocchi

    def batch_resources_metrics_measures(self, measures, create_metrics):
        """Gnocchi's answer to measures of resources it does not have."""
        self.gnocchi.calls.append(('post', set(measures)))
        _reach(self.gnocchi)
        if self.gnocchi.fail_post is not None:
            error, self.gnocchi.fail_post = self.gnocchi.fail_post, None
            raise error
        unknown = set(measures) - set(self.gnocchi.resources)
        if unknown:
            raise gnocchi_exc.BadRequest(
                400,
                {
                    'cause': 'Unknown resources',
                    'detail': [
                        {'resource_id': r, 'original_resource_id': r}
                        for r in unknown
                    ],
                },
            )
        self.gnocchi.posted.append(measures)


def _reach(gnocchi):
    if gnocchi.unreachable is not None:
        raise gnocchi.unreachable


class _ArchivePolicies:
    """Kept by name; ``update`` raises ``fail_update`` while it is set
    (Gnocchi lets only the admin role change one)."""

    def __init__(self):
        self.policies = {}
        self.fail_update = None

    def create(self, archive_policy):
        self.policies.setdefault(
            archive_policy['name'], copy.deepcopy(archive_policy)
        )

    def get(self, name):
        if name not in self.policies:
            raise gnocchi_exc.ArchivePolicyNotFound(404)
        return copy.deepcopy(self.policies[name])

    def update(self, name, archive_policy):
        if self.fail_update is not None:
            raise self.fail_update
        self.policies[name].update(copy.deepcopy(archive_policy))

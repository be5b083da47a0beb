"""volume_backup resources put straight into Gnocchi's index, many at a time.

Creating 100 000 resources through gnocchi-api, one request each, would
take most of an hour; the search the ``backup.stored.size`` pollster makes
reads rows, so rows are what benchmark 7 needs. Run in Gnocchi's
virtualenv, with its indexer URL, after ``ceilometer-backup upgrade`` made
the resource type (``Gnocchi.put_backups``)::

    python gnocchi_database.py INDEXER_URL ARCHIVE_POLICY < JSON

JSON: ``{"project_id", "user_id", "metrics": [names], "backups":
[[id, stored_bytes], ...]}``. Each backup gets a resource with its
``stored_bytes``, status ``available`` and one metric of each name, as the
publisher would have made them, spread evenly over the past day.
"""

import datetime
import json
import sys
import uuid

import sqlalchemy

BATCH = 5000


def main(url, archive_policy, spec):
    # As Gnocchi's indexer does: its virtualenv has psycopg2 only.
    engine = sqlalchemy.create_engine(
        sqlalchemy.engine.make_url(url).set(drivername='postgresql+psycopg2')
    )
    day = datetime.timedelta(days=1)
    first = datetime.datetime.now(datetime.timezone.utc) - day
    backups = spec['backups']
    resources, attributes, metrics = [], [], []
    for n, (backup_id, stored) in enumerate(backups):
        made = first + n * day / len(backups)
        resources.append(
            {
                'id': backup_id,
                'type': 'volume_backup',
                'creator': 'admin',
                'started_at': made,
                'revision_start': made,
                'user_id': spec['user_id'],
                'project_id': spec['project_id'],
                'original_resource_id': backup_id,
            }
        )
        attributes.append({'id': backup_id, 'stored_bytes': stored})
        metrics += [
            {
                'id': str(uuid.uuid4()),
                'archive_policy_name': archive_policy,
                'creator': 'admin',
                'resource_id': backup_id,
                'name': name,
                'unit': None,
            }
            for name in spec['metrics']
        ]
    with engine.begin() as connection:
        table = connection.execute(
            sqlalchemy.text(
                'SELECT tablename FROM resource_type '
                "WHERE name = 'volume_backup'"
            )
        ).scalar_one()
        for statement, rows in (
            (
                'INSERT INTO resource (id, type, creator, started_at, '
                'revision_start, user_id, project_id, original_resource_id) '
                'VALUES (:id, :type, :creator, :started_at, :revision_start, '
                ':user_id, :project_id, :original_resource_id)',
                resources,
            ),
            (
                f'INSERT INTO {table} (id, stored_bytes, status) '
                "VALUES (:id, :stored_bytes, 'available')",
                attributes,
            ),
            (
                'INSERT INTO metric (id, archive_policy_name, creator, '
                'resource_id, name, unit) VALUES (:id, :archive_policy_name, '
                ':creator, :resource_id, :name, :unit)',
                metrics,
            ),
        ):
            for start in range(0, len(rows), BATCH):
                connection.execute(
                    sqlalchemy.text(statement), rows[start : start + BATCH]
                )


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], json.load(sys.stdin))

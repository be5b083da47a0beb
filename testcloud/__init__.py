"""A real OpenStack on loopback for the functional tests, the benchmarks
and a person (``python -m testcloud``, as tools/stack.sh runs it).

Layered, each layer importing only those below it:

- ``ground``: what the services share (the checkout, the database URL
  psycopg2 takes, Ceilometer's credentials section, ...);
- ``servers``: a process of the cloud's own, on a free loopback port,
  stopped by its process group, and the services' virtualenvs;
- the services: ``postgresql``, ``rabbitmq``, ``keystone``, ``cinder``,
  ``ceph``, ``swift``, ``gnocchi``, ``ceilometer_services``,
  ``telemetry``, ``cloudkitty``, ``aodh``, and ``tls``'s authority;
- ``stack`` (PostgreSQL, RabbitMQ, Keystone, Swift, Cinder; the command
  line) and ``cloud`` (the stack as a tenant and an operator see it).

``scripts/`` holds what runs inside a service's own virtualenv. Not
shipped: setup.cfg packages ``ceilometer_backup`` only.
"""

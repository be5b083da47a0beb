"""Which Ceilometer a virtualenv holds, and whether this plugin's sample
endpoint is among its entry points; run isolated (``-I``) with that
virtualenv's Python (``ceilometer_services.stock_ceilometer``), it prints
``VERSION True|False``.
"""

import importlib.metadata as m

GROUP = 'ceilometer.sample.endpoint'
print(
    m.version('ceilometer'),
    'backup' in {e.name for e in m.entry_points(group=GROUP)},
)

"""oslo.messaging's internals the notifier's delivery watches, checked
when cinder-backup makes its notifier (``emitter/delivery.py``).

A failed send is seen where the notifier's transport or a driver of it
raises, whatever the logging configuration; without one of them, the
failures it would have shown go unseen (counted as delivered). A
method's owner is named in the ERROR as the instance's class.
"""

from ceilometer_backup.upstream import Symbol

PROJECT = 'oslo.messaging'
_UNSEEN = 'notifications it fails to send are not seen, and not sent again'
# The notifier's drivers: an attribute its __init__ sets.
DRIVERS = Symbol('Notifier', '_driver_mgr', _UNSEEN)
# Replaced on the notifier's own transport and driver instances.
TRANSPORT_SEND = Symbol('NotificationTransport', '_send_notification', _UNSEEN)
DRIVER_SEND = Symbol('Driver', 'notify', _UNSEEN)
SYMBOLS = (DRIVERS, TRANSPORT_SEND, DRIVER_SEND)

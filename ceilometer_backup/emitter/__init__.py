"""The Cinder side, imported by cinder-backup: the driver wrapper and the
notifications it sends. Needs neither Ceilometer nor its clients."""

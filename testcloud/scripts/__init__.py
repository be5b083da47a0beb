"""What runs inside a service's own virtualenv, with that virtualenv's
Python (``servers.script``): each imports its service and the standard
library only, never the test run's packages.
"""

"""The demo: backups simulated on the Cinder side and metered by a
notification agent in the same process. Neither the operator's command
nor either side of the product, it sits apart; the tests use its
in-process agent too.
"""

"""What a tenant may write into its backups, at its most awkward.

One name holds every character class that breaks a text format somewhere
(quotes and backslashes for Prometheus' exposition format and JSON, a
newline for log lines and the exposition format, braces for Python's
format strings, ``#`` for comments) and multibyte characters, and is
Cinder's longest: 255 characters, more than 255 bytes. The metadata keys
are the names of figures a bill is made of.
"""

# After the newline: found in a log, it says a tenant's string got there.
MARKER = 'INJECTED-LINE'
_AWKWARD = f'q"uo\'te \\back\\slash {{x}} %(x)s #hash\n{MARKER} '
NAME = (_AWKWARD + 'Größe 名前 🙂' * 30)[:255]
# cinder-api takes only printable characters of the Basic Multilingual
# Plane in a description (anything in a name): no newline, no emoji.
DESCRIPTION = (_AWKWARD.replace('\n', ' ') + 'Größe 名前 ' * 30)[:255]
# Backup metadata named like what the bill is made of.
METADATA = {'stored_bytes': '1', 'size': '9999', 'project_id': 'other'}

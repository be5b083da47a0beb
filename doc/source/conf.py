"""Sphinx configuration of the operator documentation.

Pages are Markdown (myst-parser); the meters and options references are
generated from the code at build time, so they cannot drift from it.
"""

import os
import sys

sys.path.insert(0, os.path.abspath('_ext'))

project = 'ceilometer-backup'
copyright = 'ceilometer-backup developers'

extensions = [
    'myst_parser',
    'oslo_config.sphinxext',
    'reno.sphinxext',
    'sphinx.ext.graphviz',
    'meters',
]
# The data-flow diagram of the index, drawn by Graphviz's dot at build time.
graphviz_output_format = 'svg'

source_suffix = {'.md': 'markdown'}
root_doc = 'index'
exclude_patterns = []
html_theme = 'alabaster'
html_theme_options = {'nosidebar': False}
html_static_path = []

# Sections can be linked as page.md#anchor.
myst_heading_anchors = 3

# Offline link check: only links inside these pages are checked (by Sphinx
# itself, -W making a broken one an error); no request leaves the machine.
linkcheck_ignore = [r'https?://.*']

"""``python -m testcloud up|status|meters|down``: tools/stack.sh's
command line (see testcloud.stack)."""

import sys

from testcloud.stack import main

sys.exit(main())

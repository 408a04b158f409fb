"""``python -m relate``: same as the ``relate`` console script."""

import sys

from relate.cli import main

sys.exit(main())

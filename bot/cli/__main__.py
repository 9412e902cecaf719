"""`python -m bot.cli`: the `kefu` command without its console script."""

import sys

from bot.cli import main

sys.exit(main())

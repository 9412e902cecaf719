"""`python -m bot.cli`: the `kefu` command without its console script."""

from bot.cli import console

console()

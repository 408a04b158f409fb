"""Subcommands of the ``relate`` CLI, one module each (``register`` + handler)."""

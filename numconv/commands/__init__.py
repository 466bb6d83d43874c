"""Subcommands of the ``numconv`` command, one module each.

Each module defines ``register(subparsers)``: it adds its parser (created with
``subparsers.add_parser``, so errors are one line) and sets ``handler`` (a
function of the parsed arguments returning the exit status) and ``subparser``.
List the module in :data:`numconv.cli.COMMANDS` to enable it.
"""

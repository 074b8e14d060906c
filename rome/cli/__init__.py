"""The ``rome`` command line: a click group whose subcommands live in their own modules.

Each entry of :data:`SUBCOMMANDS` names a module ``rome.cli.<name>`` exposing a click command or group of
the same name; it is added to :func:`main` when the module exists. To add a subcommand, write the module
and list it here (``rome sql URL`` comes from ``rome/cli/sql.py``, defining ``sql``). A module that is
absent is skipped; one that fails to import for another reason is an error, not silently dropped.
"""
import importlib

import click

from rome.version import VERSION

SUBCOMMANDS = ("glance", "copy", "sql", "keystone")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="rome")
def main():
    """ROME: a SQL engine over ordered key/value stores (LMDB, memory, redis)."""


def _register(group, names):
    for name in names:
        modname = "%s.%s" % (__name__, name)
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as e:
            if e.name == modname:
                continue
            raise
        group.add_command(getattr(mod, name), name)


_register(main, SUBCOMMANDS)

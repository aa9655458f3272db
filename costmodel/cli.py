"""The ``costmodel`` command line.

Subcommands live in ``costmodel/commands/<name>.py`` (each defines a click command ``cmd``) and
are imported only when run, so that ``costmodel table`` stays fast. Every ``CostModelError``
and usage error becomes one line on stderr with exit status 2, never a traceback.
"""
from __future__ import annotations

import importlib
import os
import sys

import click

from .errors import CostModelError

#: command name -> module under costmodel.commands
COMMANDS = {
    "list": "list_networks",
    "table": "table",
    "reproduce": "reproduce",
    "verify": "verify",
    "memory": "memory",
    "guidelines": "guidelines",
    "show": "show",
    "sweep": "sweep",
    "fit": "fit",
    "plot": "plot",
    "export": "export",
    "measure": "measure",
    "calibrate": "calibrate",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        mod = COMMANDS.get(name)
        if mod is None:
            return None
        return importlib.import_module(f"costmodel.commands.{mod}").cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="costmodel")
def cli():
    """Analytical cost model for efficient convolutional networks: params, Mult-Adds, FLOPs,
    memory traffic and peak memory, for the published families and your own variants."""


def fail(message: str, status: int = 2):
    click.echo(f"costmodel: error: {message}", err=True)
    sys.exit(status)


def main(argv=None):
    try:
        rv = cli.main(args=argv, prog_name="costmodel", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        fail("aborted", 1)
    except click.ClickException as e:
        msg = " ".join(e.format_message().split())
        cmd = getattr(getattr(e, "ctx", None), "command_path", "costmodel")
        fail(f"{msg} (see '{cmd} --help')", 2)
    except CostModelError as e:
        fail(" ".join(str(e).split()), 2)
    except BrokenPipeError:
        sys.exit(1)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as e:  # a bug, not bad input: still one line, traceback on request
        if os.environ.get("COSTMODEL_DEBUG"):
            raise
        fail(f"internal error: {type(e).__name__}: {e} (set COSTMODEL_DEBUG=1 for the traceback and please "
             f"report it)", 1)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()

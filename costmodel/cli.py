"""The ``costmodel`` command line.

Subcommands live in ``costmodel/commands/<name>.py`` (each defines a click command ``cmd``) and
are imported only when run, so that ``costmodel table`` stays fast. Every ``CostModelError``
and usage error becomes one line on stderr with exit status 2, never a traceback.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys

import click
from click.exceptions import NoArgsIsHelpError

from . import __version__
from .errors import CostModelError

#: the name this project is installed under (setup.cfg); the package index's "costmodel" is an
#: unrelated project. The import name and the command stay ``costmodel``.
DISTRIBUTION = "cnn-costmodel"

#: command name -> module under costmodel.commands
COMMANDS = {
    "list": "list_networks",
    "table": "table",
    "diff": "diff",
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
        from .commands.common import refuse_empty_values
        return refuse_empty_values(importlib.import_module(f"costmodel.commands.{mod}").cmd)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="costmodel",
                      message=f"%(prog)s, version %(version)s (distribution {DISTRIBUTION})")
def cli():
    """Analytical cost model for efficient convolutional networks: params, Mult-Adds, FLOPs,
    memory traffic and peak memory, for the published families and your own variants."""


def fail(message: str, status: int = 2):
    from .validate import bounded  # the last defence: no input makes an error line unbounded
    with contextlib.suppress(OSError, ValueError):  # stderr full or closed: the exit status still says it
        click.echo(f"costmodel: error: {bounded(message)}", err=True)
    sys.exit(status)


class Interrupted(BaseException):
    """A signal (SIGTERM, SIGHUP, SIGINT, ...) turned into an exception, so that every ``finally``
    and every atomic writer's clean-up runs; the CLI then exits with 128 + the signal number.
    A BaseException, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


#: signals whose default action ends the process and that a handler can catch
CAUGHT_SIGNALS = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGVTALRM",
                  "SIGPROF", "SIGXCPU")


def _install_signal_handlers() -> dict:
    """Turn the caught signals into ``Interrupted``; a signal the parent set to be ignored (nohup,
    a background job's SIGINT) stays ignored. Returns the previous handlers (to restore)."""
    import signal
    previous = {}

    def on_signal(signum, frame):
        for s in previous:  # a second signal ends the process at once
            signal.signal(s, signal.SIG_DFL)
        raise Interrupted(signum)

    for name in CAUGHT_SIGNALS:
        s = getattr(signal, name, None)
        if s is None:
            continue
        try:
            old = signal.getsignal(s)
            if old in (signal.SIG_DFL, signal.default_int_handler):
                signal.signal(s, on_signal)
                previous[s] = old
        except (ValueError, OSError):  # not the main thread, or not a catchable signal here
            break
    return previous


def _restore_signal_handlers(previous: dict) -> None:
    import signal
    for s, old in previous.items():
        try:
            signal.signal(s, old)
        except (ValueError, OSError):
            pass


class _StdoutRaw(io.RawIOBase):
    """File descriptor 1 with every write error turned into one-line ``OutputError`` (a broken
    pipe into ``BrokenOutputPipe``); after the first error, later writes are discarded so that
    flushing at exit cannot fail again. ``closed_fd``: standard output was closed at start."""

    def __init__(self, closed_fd: bool = False):
        super().__init__()
        self.closed_fd, self.failed = closed_fd, False

    def writable(self):
        return True

    def fileno(self):
        return 1

    def isatty(self):
        return not self.closed_fd and os.isatty(1)

    def write(self, b):
        from .fileio import BrokenOutputPipe, OutputError
        if self.failed:
            return len(b)
        if self.closed_fd:
            self.failed = True
            raise OutputError("cannot write to standard output: it is closed")
        try:
            return os.write(1, b)
        except OSError as e:
            self.failed = True
            if isinstance(e, BrokenPipeError):
                raise BrokenOutputPipe("cannot write to standard output: the reading end of the pipe was closed") \
                    from None
            raise OutputError(f"cannot write to standard output: {e.strerror or e}") from None


def _guard_stdout():
    """Route the process's standard output through ``_StdoutRaw``; returns the stream to restore,
    or False when standard output is not the process's own (an embedding program, a test's capture)."""
    old = sys.stdout
    if old is not None and old is not sys.__stdout__:
        return False
    closed = old is None
    if closed:  # closed at start: hold fd 1 with /dev/null so that no file we open lands on it
        try:
            os.fstat(1)
        except OSError:
            fd = os.open(os.devnull, os.O_WRONLY)
            if fd != 1:
                os.dup2(fd, 1)
                os.close(fd)
    else:
        try:
            old.flush()
            if old.fileno() != 1:
                return False
        except (OSError, ValueError, AttributeError):
            return False
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(_StdoutRaw(closed)),
                                  encoding=getattr(old, "encoding", None) or "utf-8",
                                  errors=getattr(old, "errors", None) or "strict",
                                  line_buffering=bool(getattr(old, "line_buffering", False)))
    return old


def _run(argv) -> int:
    """Run the command; every outcome becomes an exit status (and at most one line on stderr)."""
    from .fileio import BrokenOutputPipe, discard_pending
    try:
        try:
            rv = cli.main(args=argv, prog_name="costmodel", standalone_mode=False)
            if sys.stdout is not None:
                sys.stdout.flush()  # a full disk or a closed pipe shows here at the latest
        finally:
            discard_pending()
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.exceptions.Abort as e:
        if isinstance(e.__cause__, KeyboardInterrupt):
            fail("interrupted by SIGINT", 130)
        fail("aborted", 1)
    except NoArgsIsHelpError as e:  # plain 'costmodel': the help, as it is, on stderr
        with contextlib.suppress(OSError, ValueError):
            click.echo(e.ctx.get_help(), err=True)
        return 2
    except click.ClickException as e:
        msg = " ".join(e.format_message().split())
        cmd = getattr(getattr(e, "ctx", None), "command_path", "costmodel")
        fail(f"{msg} (see '{cmd} --help')", 2)
    except BrokenOutputPipe:  # 'costmodel ... | head': quiet, like a tool ended by SIGPIPE
        return 128 + 13
    except CostModelError as e:
        fail(" ".join(str(e).split()), 2)
    except BrokenPipeError:
        return 128 + 13
    except Interrupted as e:
        import signal
        fail(f"interrupted by {signal.Signals(e.signum).name}", 128 + e.signum)
    except KeyboardInterrupt:
        fail("interrupted by SIGINT", 130)
    except Exception as e:  # a bug, not bad input: still one line, traceback on request
        if os.environ.get("COSTMODEL_DEBUG"):
            raise
        fail(f"internal error: {type(e).__name__}: {e} (set COSTMODEL_DEBUG=1 for the traceback and please "
             f"report it)", 1)
    return rv if isinstance(rv, int) else 0


def main(argv=None):
    """The ``costmodel`` entry point: exit 0 on success, 2 on bad input or a failed write (one
    line on stderr), 1 on an internal error, 128 + N when signal N ends it (130 for Ctrl-C),
    141 quietly when standard output is a pipe closed early."""
    from .fileio import set_force
    set_force(False)
    old_stdout = _guard_stdout()
    handlers = _install_signal_handlers()
    try:
        status = _run(argv)
    except SystemExit as e:
        status = e.code
    finally:
        _restore_signal_handlers(handlers)
        if old_stdout is not False:
            _unguard_stdout(old_stdout)
    sys.exit(status)


def _unguard_stdout(old) -> None:
    """Flush what is left (errors were reported already) and put the original stream back; after
    a failure, fd 1 is pointed at /dev/null so that the interpreter's own flush at exit is quiet."""
    guarded = sys.stdout
    with contextlib.suppress(OSError, ValueError):  # OutputError is a ValueError
        guarded.flush()
    raw = getattr(getattr(guarded, "buffer", None), "raw", None)
    if isinstance(raw, _StdoutRaw) and raw.failed:
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.close(fd)
        except OSError:
            pass
    if old is not None:
        sys.stdout = old
    else:
        sys.stdout = guarded


if __name__ == "__main__":
    main()

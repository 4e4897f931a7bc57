"""The one error boundary of the ``kyma-istio`` command: every failure ends as one line on stderr that
says what is wrong and what to do, with an exit code by kind; a traceback only with ``--debug``.

Exit codes (``docs/cli.md``): 0 done; 1 a negative answer (``diff``: differences, ``check-upgrade``:
refused); 2 bad input (flag, file, kubeconfig, a missing tool); 3 the cluster refused or could not be
reached; 4 a bug (please report it with the ``--debug`` output).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

import typer
from typer import _click as click  # typer's own click: its exceptions are the ones raised

from kyma_istio.installer.istioctl import IstioctlNotFoundError
from kyma_istio.k8s import errors

EXIT_USAGE = 2
EXIT_CLUSTER = 3
EXIT_BUG = 4
PROG = "kyma-istio"
DEBUG_ENV = "KYMA_ISTIO_DEBUG"
COMPLETE_ENV = "_KYMA_ISTIO_COMPLETE"
GO_BOOL_FLAGS = frozenset({"leader-elect", "zap-devel", "experimental", "reinstall-on-resync", "allow-climb"})
"""Flags a Go manifest may spell ``--flag=true`` / ``--flag=false`` (Go's flag package allows it)."""


class CommandError(Exception):
    """A failure the command explains itself: ``message`` is the whole line, ``code`` the exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def cluster_error(err: errors.ClusterError, target: str) -> CommandError:
    """A cluster failure naming the server and context, with the next step by kind."""
    if isinstance(err, errors.Transient):
        hint = "check that the server is up and reachable from here, and the context is the right one"
    elif isinstance(err, errors.Forbidden):
        hint = "the credentials of this context lack read access; use a context that has it"
    else:
        hint = "check the context and the cluster"
    return CommandError(f"{target}: {err}; {hint}", EXIT_CLUSTER)


def _debug(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get(DEBUG_ENV, "") not in ("", "0", "false")


def _say(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def run(app: typer.Typer, argv: Sequence[str] | None = None) -> int:
    """Run the app on ``argv`` (default: ``sys.argv[1:]``) and return the exit code; never raise."""
    args = [_go_bool(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    command = typer.main.get_command(app)
    if os.environ.get(COMPLETE_ENV):
        # The shell asks for completions (``kyma-istio completion``'s script): typer's answerers.
        from typer._completion_classes import completion_init  # noqa: PLC0415 (only then)

        completion_init()
    try:
        # --debug is read here, wherever it stands (before or after the command name).
        given = [arg for arg in args if arg != "--debug"]
        result = command.main(args=given, prog_name=PROG, standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as err:
        print(err.format_message())
        return 0
    except click.exceptions.UsageError as err:
        name = err.ctx.command_path if err.ctx is not None else PROG
        _say(f"{err.format_message()} (see '{name} --help')")
        return EXIT_USAGE
    except click.exceptions.ClickException as err:
        _say(err.format_message())
        return err.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _say("interrupted")
        return 130
    except CommandError as err:
        _report(args, err)
        _say(str(err))
        return err.code
    except errors.NoConfig as err:
        _report(args, err)
        _say(str(err))
        return EXIT_USAGE
    except errors.ClusterError as err:
        _report(args, err)
        _say(f"{err}; check that the cluster is reachable and the context is the right one")
        return EXIT_CLUSTER
    except IstioctlNotFoundError as err:
        _report(args, err)
        _say(str(err))
        return EXIT_USAGE
    except OSError as err:
        _report(args, err)
        where = f" {err.filename}" if err.filename else ""
        _say(f"{err.strerror or err}{where}")
        return EXIT_USAGE
    except Exception as err:  # the boundary: anything else is a bug, said in one line
        _report(args, err)
        _say(f"unexpected {type(err).__name__}: {err} (a bug: rerun with --debug and report the traceback)")
        return EXIT_BUG
    return result if isinstance(result, int) else 0


def _go_bool(arg: str) -> str:
    """``--zap-devel=false`` -> ``--no-zap-devel``; ``--leader-elect=true`` -> ``--leader-elect``."""
    name, sep, value = arg.removeprefix("--").partition("=")
    if not arg.startswith("--") or not sep or name not in GO_BOOL_FLAGS:
        return arg
    if value.lower() in ("true", "1", "t"):
        return f"--{name}"
    if value.lower() in ("false", "0", "f"):
        return f"--no-{name}"
    return arg


def _report(args: Sequence[str], err: BaseException) -> None:
    if _debug(args):
        traceback.print_exception(err, file=sys.stderr)


def main() -> None:
    """The console script."""
    from kyma_istio.cli.main import app  # noqa: PLC0415 (main imports this module)

    sys.exit(run(app))

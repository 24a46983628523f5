"""The ``reelscope`` command line: one thin client of the core API.

Each command group lives in its own module with ``register(subparsers)``; every
command's handler receives the parsed args and returns an exit code. With
``--json`` a command prints exactly one JSON document on stdout; progress bars
go to stderr so the JSON stays machine-readable.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any, Callable, NoReturn, Optional, Sequence

# Modules contributing subcommands, in the order they appear in --help.
COMMAND_MODULES = (
    "reelscope.core.cli.library",
    "reelscope.core.cli.training",
    "reelscope.core.cli.analytics",
)


class CommandError(Exception):
    """A job that failed as a whole: printed as one clear line, exit code 1 (or ``code``)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def count(minimum: int) -> Any:
    """An argparse type: an integer >= ``minimum``, else a clear usage error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    parse.__name__ = "count"
    return parse


def _number(text: str, ok: Callable[[float], bool], rule: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    return _number(text, lambda v: 0 < v < float("inf"), "a positive number")


def share(text: str) -> float:
    """An argparse type: a share strictly between 0 and 1 (0.8 means 80 %)."""
    return _number(text, lambda v: 0 < v < 1, "between 0 and 1 (0.8 means 80 %)")


def add_output_flags(p: argparse.ArgumentParser) -> None:
    """``--json`` and ``--quiet``, the same on every command."""
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


BUSY = 75  # exit code: another job is writing this library; try again later (EX_TEMPFAIL)


def open_library(path: Any, create: bool = False, read_only: bool = False) -> Any:
    """Open (or create) the library at ``path``; ``read_only`` for commands that only read.
    A bad folder is a :class:`CommandError`."""
    from reelscope.core.store.library import Library, LibraryError
    from reelscope.core.store.schema import SchemaTooNew

    try:
        if create:
            return Library.open_or_create(path)
        return Library.open(path, read_only=read_only)
    except (LibraryError, SchemaTooNew) as exc:
        raise CommandError(str(exc)) from None


class Parser(argparse.ArgumentParser):
    """argparse with the error contract: a usage error is one line on stderr (what is
    wrong, and where the help is), exit code 2 — not a usage block a script must parse.
    Subcommand parsers are made of this class too (argparse copies the parent's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="reelscope",
        description="Audio-visual embeddings and analytics for short-form video libraries.",
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of a failure (or set REELSCOPE_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command group not built yet
        module.register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Core's commands (the ``reelscope`` command is ``reelscope.entry.main``, which adds ``gui``)."""
    parser = build_parser()
    return run(parser, parser.parse_args(argv))


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run parsed ``args``: failures become one line on stderr and an exit code; with
    ``--debug`` (or ``REELSCOPE_DEBUG=1``) the traceback comes first."""
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    from reelscope.core.store.library import LibraryError
    from reelscope.core.store.lock import LibraryBusy

    debug = bool(getattr(args, "debug", False)) or os.environ.get("REELSCOPE_DEBUG") == "1"
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return _fail(args, "interrupted; run it again to resume", 130, None)
    except CommandError as exc:
        return _fail(args, str(exc), exc.code, exc if debug else None)
    except LibraryBusy as exc:
        return _fail(args, str(exc), BUSY, exc if debug else None)
    except LibraryError as exc:
        return _fail(args, str(exc), 1, exc if debug else None)
    except OSError as exc:  # the disk, not a bug: a path that cannot be read or written
        return _fail(args, os_error_message(exc), 1, exc if debug else None)
    except Exception as exc:  # a bug or an unforeseen failure: still one line, unless debugging
        if debug:
            raise
        return _fail(args, f"unexpected error: {type(exc).__name__}: {_first_line(exc)} "
                     "(run again with --debug for the traceback, and please report it)", 1, None)


def os_error_message(exc: OSError) -> str:
    """``exc`` as one line naming the path and the operating system's reason."""
    if exc.strerror and exc.filename:
        target = f"{exc.filename} -> {exc.filename2}" if exc.filename2 else str(exc.filename)
        return f"cannot use {target}: {exc.strerror}; check the path, its permissions and free space"
    return _first_line(exc) or type(exc).__name__


def _first_line(exc: BaseException) -> str:
    return one_line(str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc))


def error_text(exc: BaseException) -> str:
    """A known failure's message for one line: a KeyError unquoted, an operating-system error
    with its path and reason (never ``args[0]``, which is its error number)."""
    if isinstance(exc, OSError) and exc.strerror:
        return os_error_message(exc)
    return _first_line(exc)


def one_line(text: str) -> str:
    """``text``'s lines joined by spaces: a failure is one line on stderr, always."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _fail(args: argparse.Namespace, message: str, code: int, exc: Optional[BaseException]) -> int:
    """Print the one line (after the whole traceback chain when ``exc`` is given)."""
    if exc is not None:
        import traceback

        cause, seen = exc, set()
        while cause is not None and id(cause) not in seen:  # show what ``raise ... from None``
            seen.add(id(cause))                               # hid: it is why one debugs
            cause.__suppress_context__ = False
            cause = cause.__context__
        traceback.print_exception(exc, file=sys.stderr)
    print(f"reelscope {args.command}: {one_line(message)}", file=sys.stderr)
    return code


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False, default=_json_default)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "__fspath__"):
        return str(obj)
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


def _version() -> str:
    from reelscope import __version__

    return f"reelscope {__version__}"

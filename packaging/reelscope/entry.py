"""The ``reelscope`` command: ``gui`` opens the desktop window, everything else is core's CLI.

Core never knows a window exists; this top package does. After ``reelscope demo`` it
opens the window on the demo library when one can be shown (a display, the desktop
package, no ``--no-gui``); otherwise the demo's printed summary is the end.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["gui"]:
        return _gui(argv[1:])
    from reelscope.core.cli.main import build_parser, run

    parser = build_parser()
    args = parser.parse_args(argv)
    code = run(parser, args)
    if args.command == "demo" and code == 0 and not args.no_window and not args.generate_only \
            and can_show_window():
        return _gui(["--library", str(args.dir.resolve() / "library")])
    return code


def can_show_window() -> bool:
    """A display to draw on and the desktop package installed."""
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) \
        or sys.platform in ("win32", "darwin")
    return has_display and importlib.util.find_spec("reelscope.desktop.app") is not None


def _gui(argv: list[str]) -> int:
    if importlib.util.find_spec("reelscope.desktop.app") is None:
        print("reelscope gui: this build has no desktop window yet; use the commands "
              "listed by 'reelscope --help'", file=sys.stderr)
        return 2
    from reelscope.desktop.app import main as gui_main

    return int(gui_main(argv) or 0)

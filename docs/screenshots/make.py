"""Remake the README's screenshots from a demo library, through the window's own
``--screenshot`` option (1400x900, light palette; the scatter also in dark):

    reelscope demo --dir /tmp/rdemo --no-gui      # once: the demo library, trained and analysed
    python docs/screenshots/make.py /tmp/rdemo

Each view is opened offscreen, drawn with the library's real data, saved and looked at.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def shots(demo: Path) -> list[tuple[str, list[str]]]:
    library = demo / "library"
    first = _first_video(library)
    draft = _a_draft(demo)
    out: list[tuple[str, list[str]]] = [
        ("library", ["--library", str(library), "--view", "library", "--video", first]),
        ("authors", ["--library", str(library), "--view", "authors"]),
        ("scatter", ["--library", str(library), "--view", "scatter"]),
        ("scatter-dark", ["--library", str(library), "--view", "scatter", "--palette", "dark"]),
        ("map", ["--library", str(library), "--view", "map"]),
        ("similar", ["--library", str(library), "--view", "similar", "--video", first]),
        ("sounds", ["--library", str(library), "--view", "sounds"]),
        ("training", ["--library", str(library), "--view", "training"]),
        ("reports", ["--library", str(library), "--view", "reports"]),
    ]
    if draft:
        out.append(("draft", ["--library", str(library), "--view", "draft", "--file", str(draft)]))
    out.append(("welcome", ["--view", "welcome"]))  # last: its recent list is this library
    return out


def _first_video(library: Path) -> str:
    from reelscope.core.query import video_page
    from reelscope.core.store.library import Library

    with Library.open(library, read_only=True) as lib:
        return video_page(lib, limit=1).rows[0].id


def _a_draft(demo: Path) -> Path | None:
    """A demo video held back from the library (a real draft), else None."""
    from reelscope.core.store.library import Library

    with Library.open(demo / "library", read_only=True) as lib:
        known = lib.video_ids()
    for path in sorted((demo / "source" / "videos").glob("*.mp4")):
        if path.stem not in known:
            return path
    return None


def main(argv: list[str]) -> int:
    import os
    import tempfile

    demo = Path(argv[0] if argv else "reelscope-demo")
    failed = 0
    settings = tempfile.mkdtemp(prefix="reelscope-shots-")  # no one's own recent libraries
    env = dict(os.environ, XDG_CONFIG_HOME=settings)
    for name, args in shots(demo):
        target = HERE / f"{name}.png"
        proc = subprocess.run([sys.executable, "-m", "reelscope.desktop", *args, "--screenshot", str(target)],
                              capture_output=True, text=True, env=env)
        print(f"{name}: {'ok' if proc.returncode == 0 else 'FAILED ' + proc.stderr[-400:]}")
        failed += proc.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

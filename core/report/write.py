"""Write the report to a file: HTML or PDF by the file's suffix."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from reelscope.core.progress import CancelToken, ProgressCallback, Reporter
from reelscope.core.report.html import render_html
from reelscope.core.report.pdf import render_pdf

if TYPE_CHECKING:
    from reelscope.core.store.library import Library


def write_report(library: "Library", out: str | Path, run_id: Optional[str] = None,
                 progress: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelToken] = None) -> Path:
    """Write ``out`` as HTML (``.html``/``.htm``) or PDF (``.pdf``); returns its path."""
    # Imported here, not above: content re-exports this function, so it imports this module.
    from reelscope.core.report.content import gather
    from reelscope.training.files import write_bytes_atomic

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise ValueError(f"a report is .html or .pdf, not {out.name!r}")
    content = gather(library, run_id, progress=progress, cancel=cancel)
    report = Reporter("report", 1, progress, cancel)
    if suffix == ".pdf":
        render_pdf(content, out)
    else:
        write_bytes_atomic(out, render_html(content).encode("utf-8"))
    report.step(message=out.name)
    return out

"""Write the report to a file: HTML or PDF by the file's suffix."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from reelscope.core.progress import CancelToken, ProgressCallback, Reporter
from reelscope.core.report.html import render_html
from reelscope.core.report.pdf import render_pdf
from reelscope.core.store.lock import writing_job

if TYPE_CHECKING:
    from reelscope.core.store.library import Library


def write_report(library: "Library", out: str | Path, run_id: Optional[str] = None,
                 progress: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelToken] = None) -> Path:
    """Write ``out`` as HTML (``.html``/``.htm``) or PDF (``.pdf``); returns its path. A
    writing job: it may analyse the run first, and holds the library's lock."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise ValueError(f"a report is .html or .pdf, not {out.name!r}")
    return _write(library, out, run_id, progress, cancel)


@writing_job("report")
def _write(library: "Library", out: Path, run_id: Optional[str], progress: Optional[ProgressCallback],
           cancel: Optional[CancelToken]) -> Path:
    # Imported here, not above: content re-exports write_report, so it imports this module.
    from reelscope.core.report.content import gather
    from reelscope.training import faults
    from reelscope.training.files import sweep_temps, write_bytes_atomic

    sweep_temps(out.parent, out.name)  # what a killed earlier writer of this report left
    content = gather(library, run_id, progress=progress, cancel=cancel)
    report = Reporter("report", 1, progress, cancel)
    faults.point("report.gathered")  # analysed, nothing of the report written
    if out.suffix.lower() == ".pdf":
        render_pdf(content, out)
    else:
        write_bytes_atomic(out, render_html(content).encode("utf-8"))
    report.step(message=out.name)
    return out

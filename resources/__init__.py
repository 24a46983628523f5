"""Icons, style sheets, report templates and demo assets shipped with the app."""

from importlib import resources as _resources
from pathlib import Path


def path(*parts: str) -> Path:
    """Filesystem path of a shipped resource file."""
    return Path(str(_resources.files(__name__).joinpath(*parts)))

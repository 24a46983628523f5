"""The PySide6 desktop window: one client of ``reelscope.core``, as the CLI is another.

Layout (napari-style: plain models in core, views here that only start work and show
results):

- ``app.py``          ``reelscope gui`` / ``python -m reelscope.desktop``: the
                      QApplication, palette, ``--view V --screenshot F.png``
- ``session.py``      the open library (read-only), the chosen run, the shared selection,
                      and the single query thread every view reads through
- ``jobs.py``         long writing jobs on a worker thread (progress, cancel, errors)
- ``errors.py``       the error dialog and the log file
- ``main_window.py``  menus, navigation, status bar, settings
- ``*_panel.py``      one view each; ``widgets.py`` the pieces they share

Nothing here computes analytics: every number shown comes from ``reelscope.core``.
"""

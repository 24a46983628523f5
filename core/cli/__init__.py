"""The ``reelscope`` commands: thin, one module per command group (``library``,
``training``, ``analytics``), progress bars in ``terminal``.

May import anything in core and ``reelscope.demo``. Never imports desktop or Qt: the
top package (``reelscope.__main__``) routes ``gui`` to the window.
"""

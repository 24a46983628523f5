"""Reelscope: audio-visual embeddings and analytics for short-form video libraries.

The distribution's subpackages live at the repository's top level:
``reelscope.core`` (engine, CLI), ``reelscope.training`` (PyTorch),
``reelscope.desktop`` (Qt window) and ``reelscope.resources`` (assets).
"""

__version__ = "0.1.0"

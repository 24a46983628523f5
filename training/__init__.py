"""PyTorch encoders, contrastive losses, augmentations and the training loop.

This package imports neither ``reelscope.core`` nor Qt.
"""

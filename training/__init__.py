"""PyTorch: encoders, contrastive losses, augmentations and the training loop.

This package imports neither ``reelscope.core`` nor Qt. Where to start reading:

- ``loop.train`` — the training loop, top to bottom; ``__main__`` — its torchrun entry point
- ``config`` — ``TrainConfig`` and the tiny/small/base presets
- ``encoders`` — the encoder registry and projection heads; ``methods`` — which views meet which loss
- ``losses/`` — one loss per module (NT-Xent, cross-modal InfoNCE, AV-SimCLR, MoCo, BYOL, SimSiam)
- ``data`` / ``views`` / ``augment_video`` / ``augment_audio`` — from cache arrays to augmented batches
- ``checkpoint`` — safetensors + JSON weights and checkpoints; ``embed`` — deterministic embeddings
- ``distributed`` — DDP helpers; ``events`` — the progress/stop interface; ``schedule`` — the LR curve
"""

"""Self-supervised losses, one per module, each an ``nn.Module`` with formula, paper and shapes.

Every loss takes an optional boolean ``mask`` [N] of usable samples (False for a
video without audio in the audio terms); masked samples are neither anchors nor
negatives. Losses compute in float32 even under bf16 autocast.
"""

from reelscope.training.losses.av_simclr import AVSimCLRLoss
from reelscope.training.losses.byol import BYOLLoss
from reelscope.training.losses.infonce import CrossModalInfoNCE
from reelscope.training.losses.moco import MoCoLoss
from reelscope.training.losses.nnclr import NNCLRLoss
from reelscope.training.losses.ntxent import NTXentLoss
from reelscope.training.losses.simsiam import SimSiamLoss

__all__ = ["AVSimCLRLoss", "BYOLLoss", "CrossModalInfoNCE", "MoCoLoss", "NNCLRLoss", "NTXentLoss", "SimSiamLoss"]

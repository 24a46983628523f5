"""Audio-visual SimCLR: intra-modal NT-Xent for video and for audio plus cross-modal InfoNCE.

The multimodal SimCLR of the thesis this project follows; the cross-modal term
is the audio-visual correspondence objective of Arandjelovic & Zisserman
("Look, Listen and Learn", ICCV 2017) in its contrastive form (Morgado et al.,
"Audio-Visual Instance Discrimination with Cross-Modal Agreement", CVPR 2021)::

    loss = w_v * NTXent(v1, v2) + w_a * NTXent(a1, a2)
         + w_c * ( InfoNCE(v1, a1) + InfoNCE(v2, a2) ) / 2

where (v_k, a_k) are the video clip and audio crop of view k of the same video
(the audio crop aligned with, or offset from, its clip). Shapes: ``v1``, ``v2``
[N, Dp]; ``a1``, ``a2`` [N, Dp]; ``has_audio`` bool [N] masks silent videos out
of both audio terms. Returns a dict of scalars: ``loss`` and the unweighted
``video``, ``audio``, ``cross`` terms.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from reelscope.training.losses.infonce import CrossModalInfoNCE
from reelscope.training.losses.ntxent import NTXentLoss


class AVSimCLRLoss(nn.Module):
    def __init__(
        self,
        temperature: float = 0.1,
        cross_temperature: float = 0.1,
        w_video: float = 1.0,
        w_audio: float = 1.0,
        w_cross: float = 1.0,
    ) -> None:
        super().__init__()
        self.intra = NTXentLoss(temperature)
        self.cross = CrossModalInfoNCE(cross_temperature)
        self.w_video, self.w_audio, self.w_cross = w_video, w_audio, w_cross

    def forward(
        self,
        v1: torch.Tensor,
        v2: torch.Tensor,
        a1: torch.Tensor,
        a2: torch.Tensor,
        has_audio: Optional[torch.Tensor] = None,
    ) -> dict[str, torch.Tensor]:
        video = self.intra(v1, v2)
        audio = self.intra(a1, a2, has_audio)
        cross = 0.5 * (self.cross(v1, a1, has_audio) + self.cross(v2, a2, has_audio))
        loss = self.w_video * video + self.w_audio * audio + self.w_cross * cross
        return {"loss": loss, "video": video, "audio": audio, "cross": cross}

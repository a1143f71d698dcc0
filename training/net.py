"""The front end in PyTorch, layer for layer the numpy network of ``mouthpiece.neural.model``.

Input: normalised features [B, 2 * n_mels, T + lookahead] (the last ``lookahead`` frames
are the real future, or the last frame held past the end); output: viseme logits [B, 15, T] and
articulation [B, 3, T]. nanoGPT style: ``forward(x, targets=None) -> (pred, loss)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mouthpiece.neural.model import ARTICULATION
from mouthpiece.vocabulary import VISEMES


@dataclass
class NetConfig:
    n_mels: int = 40  # log-mel bands per frame
    channels: int = 96  # width of every hidden layer
    first_kernel: int = 9  # frames seen by the first convolution
    lookahead: int = 4  # frames after the described one (4 + half a window = 52.5 ms)
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32)  # one residual block each
    kernel: int = 3  # frames per dilated convolution
    ema_seconds: float = 3.0  # s, time constant of the running band mean
    visemes: tuple[str, ...] = VISEMES
    articulation: tuple[str, ...] = ARTICULATION

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, fields: dict) -> NetConfig:
        """The inverse of :meth:`to_json` (JSON keeps tuples as lists)."""
        tuples = ("dilations", "visemes", "articulation")
        return cls(**{k: tuple(v) if k in tuples else v for k, v in fields.items()})


class FrontEndNet(nn.Module):
    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.conv1 = nn.Conv1d(2 * cfg.n_mels, c, cfg.first_kernel)
        self.w1 = nn.ModuleList(nn.Conv1d(c, c, cfg.kernel, dilation=d) for d in cfg.dilations)
        self.w2 = nn.ModuleList(nn.Conv1d(c, c, 1) for _ in cfg.dilations)
        for proj in self.w2:  # residual branches start small
            nn.init.normal_(proj.weight, std=0.02 / np.sqrt(len(cfg.dilations)))
            nn.init.zeros_(proj.bias)
        self.head_v = nn.Conv1d(c, len(cfg.visemes), 1)
        self.head_a = nn.Conv1d(c, len(cfg.articulation), 1)

    def forward(self, x: torch.Tensor, targets: tuple[torch.Tensor, ...] | None = None):
        cfg = self.cfg
        x = F.pad(x, (cfg.first_kernel - 1 - cfg.lookahead, 0))  # [B, 2M, T + K1 - 1]
        h = F.relu(self.conv1(x))  # [B, C, T]
        for conv, proj, d in zip(self.w1, self.w2, cfg.dilations):
            y = F.relu(conv(F.pad(h, ((cfg.kernel - 1) * d, 0))))  # causal: [B, C, T]
            h = h + proj(y)
        logits = self.head_v(h)  # [B, 15, T]
        art_logits = self.head_a(h)  # [B, 3, T]
        art = torch.sigmoid(art_logits)
        if targets is None:
            return (logits, art), None
        vis, art_t, mask = targets  # [B, T] long, [B, 3, T], [B, T] float
        ce = F.cross_entropy(logits, vis, reduction="none", label_smoothing=0.05)
        # cross-entropy against soft targets: the output is the expected value, calibrated
        bce = F.binary_cross_entropy_with_logits(art_logits, art_t, reduction="none").sum(1)
        denom = mask.sum().clamp(min=1)
        loss_v = (ce * mask).sum() / denom
        loss_a = (bce * mask).sum() / denom
        return (logits, art), (loss_v + loss_a, loss_v.detach(), loss_a.detach())

    def export_arrays(self) -> dict[str, np.ndarray]:
        """Weights in the numpy model's layout: conv [k, Cin, Cout], dense [Cin, Cout]."""

        def conv(m: nn.Conv1d) -> np.ndarray:
            return m.weight.detach().permute(2, 1, 0).contiguous().numpy().astype(np.float32)

        def dense(m: nn.Conv1d) -> np.ndarray:
            return m.weight.detach()[:, :, 0].T.contiguous().numpy().astype(np.float32)

        def bias(m: nn.Conv1d) -> np.ndarray:
            return m.bias.detach().numpy().astype(np.float32)

        out = {"conv1.w": conv(self.conv1), "conv1.b": bias(self.conv1)}
        for i, (a, b) in enumerate(zip(self.w1, self.w2)):
            out |= {f"blocks.{i}.w1": conv(a), f"blocks.{i}.b1": bias(a)}
            out |= {f"blocks.{i}.w2": dense(b), f"blocks.{i}.b2": bias(b)}
        out |= {"head_v.w": dense(self.head_v), "head_v.b": bias(self.head_v)}
        out |= {"head_a.w": dense(self.head_a), "head_a.b": bias(self.head_a)}
        return out

    @torch.no_grad()
    def import_arrays(self, arrays) -> None:
        """Load weights from the numpy model's layout: the inverse of :meth:`export_arrays`."""

        def load(m: nn.Conv1d, weight: str, bias: str) -> None:
            w = torch.from_numpy(np.asarray(arrays[weight], np.float32))
            m.weight.copy_(w.permute(2, 1, 0) if w.dim() == 3 else w.T[:, :, None])
            m.bias.copy_(torch.from_numpy(np.asarray(arrays[bias], np.float32)))

        load(self.conv1, "conv1.w", "conv1.b")
        for i, (a, b) in enumerate(zip(self.w1, self.w2)):
            load(a, f"blocks.{i}.w1", f"blocks.{i}.b1")
            load(b, f"blocks.{i}.w2", f"blocks.{i}.b2")
        load(self.head_v, "head_v.w", "head_v.b")
        load(self.head_a, "head_a.w", "head_a.b")

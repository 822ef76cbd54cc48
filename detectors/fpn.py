"""Feature pyramid P3-P7 over a ResNet's C3-C5 (RetinaNet's layout: P6 and P7 by strided 3x3
convolutions on top), the levels SAPD's anchor points and RetinaNet's anchors live on, and the tower
of convolutions their heads run on every level."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STRIDES = (8, 16, 32, 64, 128)


class FPN(nn.Module):
    def __init__(self, in_channels: tuple[int, int, int], channels: int = 256):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in in_channels)
        self.output = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in in_channels)
        self.p6 = nn.Conv2d(channels, channels, 3, stride=2, padding=1)
        self.p7 = nn.Conv2d(channels, channels, 3, stride=2, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=1)
                nn.init.zeros_(m.bias)

    def forward(self, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor) -> list[torch.Tensor]:
        laterals = [conv(c) for conv, c in zip(self.lateral, (c3, c4, c5), strict=True)]
        for k in (1, 0):  # top-down: each level gets the coarser one, upsampled
            laterals[k] = laterals[k] + F.interpolate(laterals[k + 1], size=laterals[k].shape[-2:], mode="nearest")
        p3, p4, p5 = [conv(x) for conv, x in zip(self.output, laterals, strict=True)]
        p6 = self.p6(p5)
        p7 = self.p7(F.relu(p6))
        return [p3, p4, p5, p6, p7]


def tower(channels: int, convs: int = 4) -> nn.Sequential:
    """A head's subnet, shared across levels: 3x3 convolutions with group norm and ReLU."""
    layers: list[nn.Module] = []
    for _ in range(convs):
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.GroupNorm(min(32, channels // 4), channels),
                   nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)

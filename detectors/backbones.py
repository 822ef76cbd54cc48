"""ResNet backbones whose state-dict keys and shapes are torchvision's, so that an ImageNet checkpoint a
user downloaded (or DEXTR's official weights, which share the layout) loads into them as it is.

Two options beyond torchvision's classifier: the number of input channels (DEXTR adds a fourth, the
clicks' heat map) and dilation in the last stages instead of striding (DEXTR's output stride 8).
DEXTR's own ResNet strides in the first 1x1 convolution of a bottleneck (Caffe style), torchvision
in the 3x3; `stride_in_1x1` picks, as it changes the result but not the weights' shapes.
"""
from __future__ import annotations

import os

import torch
from torch import nn

from .catalogue import DEPTHS
from .checkpoints import load_matching, read_foreign_state_dict


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, stride_in_1x1: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, stride_in_1x1: bool = False):
        super().__init__()
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride_1x1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride_3x3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (self.downsample(x) if self.downsample is not None else x))


class ResNet(nn.Module):
    """The feature part of a ResNet (no pooling head, no fc). `forward` returns the outputs of the
    four stages (C2..C5), for an FPN or for a segmentation head that takes the last."""

    def __init__(self, depth: int, in_channels: int = 3, dilations: tuple[int, int, int, int] = (1, 1, 1, 1),
                 stride_in_1x1: bool = False, freeze_bn: bool = False):
        super().__init__()
        self.freeze_bn = freeze_bn  # on for a pretrained backbone, whose statistics small batches would spoil
        if depth not in DEPTHS:
            raise ValueError(f"ResNet depth must be one of {sorted(DEPTHS)}, not {depth}")
        kind, blocks = DEPTHS[depth]
        block = BasicBlock if kind == "basic" else Bottleneck
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, padding=1)
        inplanes = 64
        self.channels: list[int] = []
        for stage, (planes, count, dilation) in enumerate(zip((64, 128, 256, 512), blocks, dilations, strict=True), 1):
            stride = 1 if stage == 1 or dilation > 1 else 2
            downsample = None
            if stride != 1 or inplanes != planes * block.expansion:
                downsample = nn.Sequential(nn.Conv2d(inplanes, planes * block.expansion, 1, stride, bias=False),
                                           nn.BatchNorm2d(planes * block.expansion))
            layers = [block(inplanes, planes, stride, dilation, downsample, stride_in_1x1)]
            inplanes = planes * block.expansion
            layers += [block(inplanes, planes, 1, dilation, None, stride_in_1x1) for _ in range(count - 1)]
            setattr(self, f"layer{stage}", nn.Sequential(*layers))
            self.channels.append(inplanes)

    def train(self, mode: bool = True) -> ResNet:
        """With `freeze_bn`, the backbone's BN layers keep their loaded statistics in training (a
        subclass's own head, such as DEXTR's, still learns its statistics)."""
        super().train(mode)
        if mode and self.freeze_bn:
            for name, m in self.named_modules():
                if isinstance(m, nn.BatchNorm2d) and f"{name}.".startswith(IMAGENET_PARTS):
                    m.eval()
        return self

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outputs = []
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
            outputs.append(x)
        return outputs


#: The keys an ImageNet file fills; anything else in the module (DEXTR's head) stays as it is.
IMAGENET_PARTS = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.")


def load_imagenet(module: ResNet, path: str | os.PathLike) -> None:
    """A torchvision ImageNet checkpoint into `module` (a ResNet, or a model built on one). Its
    classifier is left out; input channels the file lacks (DEXTR's heat map) start at zero, so the
    network begins as the pretrained one. Any other mismatch is refused, naming the keys."""
    state = widened_inputs(read_foreign_state_dict(path), module)
    own = {k: v for k, v in module.state_dict().items() if not k.startswith(IMAGENET_PARTS)}
    load_matching(module, {**state, **own}, path, ignore=("fc.",))


def widened_inputs(state: dict[str, torch.Tensor], module: ResNet) -> dict[str, torch.Tensor]:
    """`state` with a first layer for `module`'s input channels where it has fewer: the extra channels
    start at zero, so the network computes what the checkpoint did until it learns to use them."""
    conv1, wanted = state.get("conv1.weight"), module.conv1.weight
    fits = conv1 is not None and conv1.dim() == 4 and conv1.shape[0] == wanted.shape[0]
    if fits and conv1.shape[1] < wanted.shape[1]:
        blank = conv1.new_zeros(conv1.shape[0], wanted.shape[1] - conv1.shape[1], *conv1.shape[2:])
        state = {**state, "conv1.weight": torch.cat([conv1, blank], dim=1)}
    return state

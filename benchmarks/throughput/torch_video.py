"""PyTorch port of mmzoo's `r2plus1d` clip encoder, for the (2+1)D training-step comparison.

Written as torchvision's `VideoResNet` writes R(2+1)D (Tran et al. 2018, "A
Closer Look at Spatiotemporal Convolutions for Action Recognition"): NCTHW
clips, each (2+1)D convolution a `Conv3d` with kernel `(1, k, k)` (spatial),
BatchNorm and ReLU, then a `Conv3d` with kernel `(t, 1, 1)` (temporal), the
intermediate width chosen so the pair has the parameters of a full `t x k x k`
convolution. Same layers and sizes as `mmzoo.encoders.video_conv`: a
(2+1)D stem (7x7 spatial, stride 2 in space) with BatchNorm and ReLU, one
residual block of two (2+1)D convolutions per entry of `filters` (stages after
the first stride 2 in time and space, a strided 1x1x1 projection shortcut when
the shape changes), the feature map averaged over space then time, dropout and
a Linear + ReLU projection. BatchNorm uses Keras's epsilon (1e-3).
"""

import torch.nn.functional as F
from torch import nn

EPS = 1e-3


def mid_channels(in_channels, out_channels, kernel_size, temporal_kernel):
    """R(2+1)D's intermediate width (Tran et al. 2018): the factorised pair has the 3-D convolution's parameters."""
    d, t = kernel_size, temporal_kernel
    return max(1, (t * d * d * in_channels * out_channels) // (d * d * in_channels + t * out_channels))


class Conv2Plus1D(nn.Module):
    """Spatial `(1, k, k)` convolution, BatchNorm, ReLU, temporal `(t, 1, 1)` convolution (no bias)."""

    def __init__(self, in_channels, filters, mid, kernel_size=3, temporal_kernel=3, strides=(1, 1)):
        super().__init__()
        st, ss = strides
        self.spatial = nn.Conv3d(
            in_channels, mid, (1, kernel_size, kernel_size), (1, ss, ss), (0, kernel_size // 2, kernel_size // 2),
            bias=False,
        )  # fmt: skip
        self.bn = nn.BatchNorm3d(mid, eps=EPS)
        self.temporal = nn.Conv3d(
            mid, filters, (temporal_kernel, 1, 1), (st, 1, 1), (temporal_kernel // 2, 0, 0), bias=False
        )

    def forward(self, x):
        return self.temporal(F.relu(self.bn(self.spatial(x))))


class R2Plus1DBlock(nn.Module):
    """Two (2+1)D convolutions with BatchNorm, a residual connection (projected when the shape changes), ReLU."""

    def __init__(self, in_channels, filters, strides=(1, 1)):
        super().__init__()
        self.conv0 = Conv2Plus1D(in_channels, filters, mid_channels(in_channels, filters, 3, 3), strides=strides)
        self.bn0 = nn.BatchNorm3d(filters, eps=EPS)
        self.conv1 = Conv2Plus1D(filters, filters, mid_channels(filters, filters, 3, 3))
        self.bn1 = nn.BatchNorm3d(filters, eps=EPS)
        self.shortcut = None
        if in_channels != filters or tuple(strides) != (1, 1):
            st, ss = strides
            self.shortcut = nn.Conv3d(in_channels, filters, 1, (st, ss, ss))

    def forward(self, x):
        y = F.relu(self.bn0(self.conv0(x)))
        y = self.bn1(self.conv1(y))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class R2Plus1DEncoder(nn.Module):
    """uint8-scaled NCTHW clips -> (B, units) features (or (B, steps, units) tokens with `return_sequences`)."""

    def __init__(self, in_channels=3, filters=(32, 64, 128), units=128, dropout=0.1, return_sequences=False):
        super().__init__()
        f0 = filters[0]
        self.stem = Conv2Plus1D(in_channels, f0, mid_channels(in_channels, f0, 7, 3), 7, 3, strides=(1, 2))
        self.stem_bn = nn.BatchNorm3d(f0, eps=EPS)
        blocks, c = [], f0
        for i, f in enumerate(filters):
            blocks.append(R2Plus1DBlock(c, f, (1, 1) if i == 0 else (2, 2)))
            c = f
        self.blocks = nn.Sequential(*blocks)
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Linear(c, units)
        self.return_sequences = return_sequences

    def forward(self, x):
        x = self.blocks(F.relu(self.stem_bn(self.stem(x))))
        tokens = x.mean(dim=(3, 4)).transpose(1, 2)  # (B, steps, C)
        x = tokens if self.return_sequences else tokens.mean(dim=1)
        return F.relu(self.proj(self.drop(x)))

"""Encoders: one preprocessed input -> features. Importing registers them all."""

from mmzoo.encoders.base import Encoder
from mmzoo.encoders.conv import ConvEncoder
from mmzoo.encoders.mlp import MLPEncoder
from mmzoo.encoders.text import BiLSTMEncoder

__all__ = ["BiLSTMEncoder", "ConvEncoder", "Encoder", "MLPEncoder"]

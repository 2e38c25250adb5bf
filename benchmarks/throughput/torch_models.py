"""PyTorch ports of every mmzoo zoo architecture at the reference input set, for the throughput benchmark.

Written the way the PyTorch collections write these models (torchvision /
torchaudio / torchmultimodal style: `nn.Module`s, NCHW images, token ids in,
logits out, `nn.CrossEntropyLoss` outside the model), with the same layer
sizes as `mmzoo.build_model(name, reference_inputs(token_ids=True))`:

- text: `nn.Embedding(20000, 64, padding_idx=0)` + bidirectional `nn.LSTM(64)`
  (the final states; no packing, since the reference texts fill all 64 tokens);
- image: 3 blocks Conv3x3(no bias) -> BatchNorm -> ReLU -> MaxPool(2, ceil), global
  average pool, dropout, Linear(128) + ReLU (mmzoo's `cnn`);
- audio: the same log-mel as Keras's `MelSpectrogram` (torch.stft, Hann window
  400, FFT 512, hop 160, centred with reflection, power, 64 HTK mel bins, dB),
  per-example standardisation over (time, mel), then the CNN on (1, 101, 64);
- fusions and heads as in `mmzoo/fusion/*.py` and `mmzoo/models/*.py`.

Parameter counts differ from Keras only by PyTorch's second LSTM bias
(`b_hh`, 512 for the BiLSTM); BatchNorm running statistics count as
parameters on both sides (Keras counts them as non-trainable weights).
`check_params` enforces equality within 1%.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .torch_video import R2Plus1DEncoder

TEXT, IMAGE, AUDIO, VIDEO = "text", "image", "audio", "video"


def hann(length):
    return torch.hann_window(length, periodic=True)


def mel_matrix(num_mel_bins, num_spectrogram_bins, sample_rate, lower_hz=20.0, upper_hz=None):
    """HTK mel filterbank as `keras.layers.MelSpectrogram.linear_to_mel_weight_matrix` builds it."""
    upper_hz = upper_hz or sample_rate / 2

    def to_mel(f):
        return 1127.0 * torch.log(1.0 + f / 700.0)

    bins = torch.linspace(0.0, sample_rate / 2, num_spectrogram_bins)[1:]
    spectrogram_mel = to_mel(bins)[:, None]
    edges = torch.linspace(
        float(to_mel(torch.tensor(lower_hz))), float(to_mel(torch.tensor(upper_hz))), num_mel_bins + 2
    )
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    lower_slope = (spectrogram_mel - lower) / (center - lower)
    upper_slope = (upper - spectrogram_mel) / (upper - center)
    weights = torch.clamp(torch.minimum(lower_slope, upper_slope), min=0.0)
    return F.pad(weights, (0, 0, 1, 0))  # (num_spectrogram_bins, num_mel_bins)


class LogMel(nn.Module):
    """Waveform (B, N) -> standardised log-mel (B, frames, mels), as the mmzoo Audio spec computes it."""

    def __init__(self, sample_rate=16_000, num_mel_bins=64):
        super().__init__()
        self.frame_length = int(round(0.025 * sample_rate))
        self.frame_step = int(round(0.010 * sample_rate))
        self.fft_length = 1 << (self.frame_length - 1).bit_length()
        window = F.pad(
            hann(self.frame_length),
            (
                (self.fft_length - self.frame_length) // 2,
                self.fft_length - self.frame_length - (self.fft_length - self.frame_length) // 2,
            ),
        )
        self.register_buffer("window", window, persistent=False)
        self.register_buffer("mel", mel_matrix(num_mel_bins, self.fft_length // 2 + 1, sample_rate), persistent=False)

    def forward(self, wave):
        spec = torch.stft(
            wave,
            self.fft_length,
            self.frame_step,
            self.fft_length,
            self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )  # (B, freq, frames)
        power = spec.real.square() + spec.imag.square()
        mel = torch.matmul(power.transpose(1, 2), self.mel)  # (B, frames, mels)
        logmel = 10.0 * torch.log10(torch.clamp(mel, min=1e-10))
        return F.layer_norm(logmel, logmel.shape[1:], eps=1e-3)


class ConvEncoder(nn.Module):
    """mmzoo's `cnn`: (Conv-BN-ReLU-MaxPool) x 3, global average pool, dropout, Linear + ReLU."""

    def __init__(self, in_channels, filters=(32, 64, 128), units=128, dropout=0.1, return_sequences=False):
        super().__init__()
        layers, c = [], in_channels
        for f in filters:
            layers += [
                nn.Conv2d(c, f, 3, padding=1, bias=False),
                nn.BatchNorm2d(f, eps=1e-3, momentum=0.1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            c = f
        self.features = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Linear(c, units)
        self.return_sequences = return_sequences

    def forward(self, x):
        x = self.features(x)
        if self.return_sequences:
            x = x.flatten(2).transpose(1, 2)  # (B, positions, C)
        else:
            x = x.mean(dim=(2, 3))
        return F.relu(self.proj(self.drop(x)))


class BiLSTMEncoder(nn.Module):
    """mmzoo's `bilstm`: embedding (id 0 = padding) + bidirectional LSTM; final states or the sequence."""

    def __init__(self, vocabulary_size=20_000, embedding_dim=64, units=64, return_sequences=False):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary_size, embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(embedding_dim, units, batch_first=True, bidirectional=True)
        self.return_sequences = return_sequences

    def forward(self, ids):
        mask = (ids != 0).unsqueeze(-1).float()
        sequence, (h, _) = self.lstm(self.embedding(ids) * mask)
        if self.return_sequences:
            return sequence * mask
        return torch.cat([h[0], h[1]], dim=-1)


class Branches(nn.Module):
    """One encoder per modality; inputs are a dict {text: int64 ids, image: uint8 NCHW, audio: float32 waves}."""

    def __init__(self, modalities=(AUDIO, IMAGE, TEXT), sequences=False):
        super().__init__()
        self.modalities = tuple(sorted(modalities))
        encoders = {}
        if TEXT in modalities:
            encoders[TEXT] = BiLSTMEncoder(return_sequences=sequences)
        if IMAGE in modalities:
            encoders[IMAGE] = ConvEncoder(3, return_sequences=sequences)
        if AUDIO in modalities:
            self.logmel = LogMel()
            encoders[AUDIO] = ConvEncoder(1, return_sequences=sequences)
        if VIDEO in modalities:  # mmzoo's r2plus1d on RGB clips (the `video_step` benchmark)
            encoders[VIDEO] = R2Plus1DEncoder(3, return_sequences=sequences)
        self.encoders = nn.ModuleDict(encoders)

    def forward(self, x):
        out = {}
        for name in self.modalities:
            value = x[name]
            if name in (IMAGE, VIDEO):
                value = value.float() / 255.0
            elif name == AUDIO:
                value = self.logmel(value).unsqueeze(1)
            out[name] = self.encoders[name](value)
        return out


def mlp_head(in_dim, head_units=(128,), dropout=0.2, num_classes=10):
    layers = []
    for units in head_units:
        layers += [nn.Dropout(dropout), nn.Linear(in_dim, units), nn.ReLU(inplace=True)]
        in_dim = units
    return nn.Sequential(*layers, nn.Linear(in_dim, num_classes))


class Concat(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.out_dim = sum(dims)

    def forward(self, xs):
        return torch.cat(xs, dim=-1)


class WeightedSum(nn.Module):
    def __init__(self, dims, units=128):
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(d, units) for d in dims)
        self.logits = nn.Parameter(torch.zeros(len(dims)))
        self.out_dim = units

    def forward(self, xs):
        stacked = torch.stack([p(x) for p, x in zip(self.proj, xs)], dim=1)
        return (stacked * torch.softmax(self.logits, 0)[None, :, None]).sum(1)


class Additive(WeightedSum):
    def forward(self, xs):
        return sum(p(x) for p, x in zip(self.proj, xs))


class GMU(nn.Module):
    def __init__(self, dims, units=128):
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(d, units) for d in dims)
        self.num_gates = 1 if len(dims) == 2 else len(dims)
        self.gate = nn.Linear(sum(dims), self.num_gates * units)
        self.units = self.out_dim = units

    def forward(self, xs):
        hidden = torch.stack([torch.tanh(p(x)) for p, x in zip(self.proj, xs)], dim=1)
        logits = self.gate(torch.cat(xs, dim=-1))
        if self.num_gates == 1:
            logits = torch.stack([logits, torch.zeros_like(logits)], dim=1)
        else:
            logits = logits.view(-1, self.num_gates, self.units)
        return (torch.softmax(logits, dim=1) * hidden).sum(1)


class TFN(nn.Module):
    def __init__(self, dims, units=12):
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(d, units) for d in dims)
        self.out_dim = (units + 1) ** len(dims)

    def forward(self, xs):
        z = None
        for p, x in zip(self.proj, xs):
            a = F.pad(p(x), (0, 1), value=1.0)
            z = a if z is None else (z[:, :, None] * a[:, None, :]).flatten(1)
        return z


class LMF(nn.Module):
    def __init__(self, dims, units=128, rank=4):
        super().__init__()
        self.factors = nn.ParameterList(nn.Parameter(torch.randn(rank, d + 1, units) * 0.05) for d in dims)
        self.rank_weights = nn.Parameter(torch.ones(rank))
        self.bias = nn.Parameter(torch.zeros(units))
        self.out_dim = units

    def forward(self, xs):
        product = None
        for x, w in zip(xs, self.factors):
            h = torch.einsum("bd,rdu->bru", F.pad(x, (0, 1), value=1.0), w)
            product = h if product is None else product * h
        return torch.einsum("r,bru->bu", self.rank_weights, product) + self.bias


def power_l2(z, eps=1e-12):
    z = torch.sign(z) * (torch.sqrt(z.abs() + eps) - eps**0.5)
    return z / torch.sqrt(torch.clamp(z.square().sum(-1, keepdim=True), min=eps))


class MFH(nn.Module):
    """MFB (order 1) and MFH (order p): cascaded factorised bilinear blocks."""

    def __init__(self, dims, units=128, factor=5, order=1, dropout=0.1):
        super().__init__()
        self.blocks = nn.ModuleList(nn.ModuleList(nn.Linear(d, factor * units) for d in dims) for _ in range(order))
        self.units, self.factor = units, factor
        self.drop = nn.Dropout(dropout)
        self.out_dim = units * order

    def forward(self, xs):
        outputs, previous = [], None
        for block in self.blocks:
            expanded = None
            for p, x in zip(block, xs):
                expanded = p(x) if expanded is None else expanded * p(x)
            if previous is not None:
                expanded = expanded * previous
            expanded = previous = self.drop(expanded)
            outputs.append(power_l2(expanded.view(-1, self.units, self.factor).sum(-1)))
        return torch.cat(outputs, dim=-1)


class Attention(nn.Module):
    def __init__(self, dims, units=128):
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(d, units) for d in dims)
        self.score_hidden = nn.Linear(units, units)
        self.query = nn.Linear(units, units, bias=False)
        self.score = nn.Linear(units, 1)
        nn.init.zeros_(self.score.weight)
        self.out_dim = units

    def forward(self, xs):
        projected = torch.stack([p(x) for p, x in zip(self.proj, xs)], dim=1)
        hidden = self.score_hidden(projected) + self.query(projected.mean(1))[:, None]
        weights = torch.softmax(self.score(torch.tanh(hidden))[..., 0], dim=-1)
        return (projected * weights[..., None]).sum(1)


class Block(nn.Module):
    """Pre-LN transformer block (self- or cross-attention) as mmzoo's `TransformerBlock`."""

    def __init__(self, units=64, num_heads=4, dropout=0.1, cross=False):
        super().__init__()
        self.norm = nn.LayerNorm(units, eps=1e-5)
        self.context_norm = nn.LayerNorm(units, eps=1e-5) if cross else None
        self.attention = nn.MultiheadAttention(units, num_heads, dropout=dropout, batch_first=True)
        self.ffn_norm = nn.LayerNorm(units, eps=1e-5)
        self.ffn = nn.Sequential(
            nn.Linear(units, 4 * units), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(4 * units, units)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x, context=None):
        q = self.norm(x)
        kv = self.context_norm(context) if self.context_norm is not None else q
        x = x + self.drop(self.attention(q, kv, kv, need_weights=False)[0])
        return x + self.drop(self.ffn(self.ffn_norm(x)))


class TokenEmbed(nn.Module):
    def __init__(self, shapes, units=64, dropout=0.1):
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(d, units) for _, d in shapes)
        self.positions = nn.ParameterList(nn.Parameter(torch.randn(steps, units) * 0.5) for steps, _ in shapes)
        self.drop = nn.Dropout(dropout)

    def forward(self, xs):
        return [self.drop(p(x) + pos) for p, pos, x in zip(self.proj, self.positions, xs)]


class MulT(nn.Module):
    def __init__(self, shapes, units=64, num_heads=4, num_layers=2, dropout=0.1):
        super().__init__()
        self.embed = TokenEmbed(shapes, units, dropout)
        count = len(shapes)
        self.pairs = [(t, s) for t in range(count) for s in range(count) if s != t]
        self.stacks = nn.ModuleList(
            nn.ModuleList(Block(units, num_heads, dropout, cross=True) for _ in range(num_layers)) for _ in self.pairs
        )
        self.norms = nn.ModuleList(nn.LayerNorm(units, eps=1e-5) for _ in self.pairs)
        self.out_dim = len(self.pairs) * units

    def forward(self, xs):
        tokens = self.embed(xs)
        outputs = []
        for (t, s), blocks, norm in zip(self.pairs, self.stacks, self.norms):
            z = tokens[t]
            for block in blocks:
                z = block(z, tokens[s])
            outputs.append(norm(z).mean(1))
        return torch.cat(outputs, dim=-1)


class EarlyTransformer(nn.Module):
    def __init__(self, shapes, units=64, num_heads=4, num_layers=2, dropout=0.1):
        super().__init__()
        self.embed = TokenEmbed(shapes, units, dropout)
        self.modality_embedding = nn.Parameter(torch.randn(len(shapes), units) * 0.02)
        self.cls_token = nn.Parameter(torch.randn(1, 1, units) * 0.02)
        self.blocks = nn.ModuleList(Block(units, num_heads, dropout) for _ in range(num_layers))
        self.final_norm = nn.LayerNorm(units, eps=1e-5)
        self.out_dim = units

    def forward(self, xs):
        tokens = self.embed(xs)
        x = torch.cat(
            [self.cls_token.expand(tokens[0].shape[0], -1, -1)]
            + [h + self.modality_embedding[i] for i, h in enumerate(tokens)],
            dim=1,
        )
        for block in self.blocks:
            x = block(x)
        return self.final_norm(x[:, 0])


VECTOR_FUSIONS = {
    "early_fusion": (Concat, {}),
    "weighted_sum": (WeightedSum, {"units": 128}),
    "additive": (Additive, {"units": 128}),
    "gmu": (GMU, {"units": 128}),
    "tfn": (TFN, {"units": 12}),
    "lmf": (LMF, {"units": 128, "rank": 4}),
    "mfb": (MFH, {"units": 128, "factor": 5, "order": 1}),
    "mfh": (MFH, {"units": 128, "factor": 5, "order": 2}),
    "attention": (Attention, {"units": 128}),
}
SEQUENCE_FUSIONS = {"mult": MulT, "transformer": EarlyTransformer}
# tokens per modality with return_sequences at the reference set: audio 101x64 log-mel -> 13x8 after
# three ceil-mode pools; image 64x64 -> 8x8; text 64 steps. Every token is 128 wide.
SEQUENCE_STEPS = {AUDIO: 104, IMAGE: 64, TEXT: 64}
TFN_UNITS = {2: 32, 3: 12, 4: 6}


class FusionModel(nn.Module):
    """Branches -> fusion -> MLP head -> logits, like `mmzoo.build_fusion_model`."""

    def __init__(self, name, modalities=(AUDIO, IMAGE, TEXT), num_classes=10):
        super().__init__()
        sequences = name in SEQUENCE_FUSIONS
        self.branches = Branches(modalities, sequences=sequences)
        count = len(self.branches.modalities)
        if sequences:
            self.fusion = SEQUENCE_FUSIONS[name]([(SEQUENCE_STEPS[m], 128) for m in self.branches.modalities])
        else:
            cls, options = VECTOR_FUSIONS[name]
            if name == "tfn":
                options = {"units": TFN_UNITS[min(max(count, 2), 4)]}
            self.fusion = cls([128] * count, **options)
        self.head = mlp_head(self.fusion.out_dim, num_classes=num_classes)

    def forward(self, x):
        features = self.branches(x)
        return self.head(self.fusion([features[m] for m in self.branches.modalities]))


class LateFusion(nn.Module):
    """A head per modality (Dense 64 + logits), decisions combined with learned softmax weights."""

    def __init__(self, modalities=(AUDIO, IMAGE, TEXT), num_classes=10):
        super().__init__()
        self.branches = Branches(modalities)
        self.heads = nn.ModuleDict({m: mlp_head(128, (64,), num_classes=num_classes) for m in self.branches.modalities})
        self.logits = nn.Parameter(torch.zeros(len(self.branches.modalities)))

    def forward(self, x):
        features = self.branches(x)
        decisions = torch.stack([self.heads[m](features[m]) for m in self.branches.modalities], dim=1)
        return (decisions * torch.softmax(self.logits, 0)[None, :, None]).sum(1)


class CLIP(nn.Module):
    """Dual encoder: projections to 128, L2 normalisation, scaled cosine similarities (logits)."""

    def __init__(self, modalities=(IMAGE, TEXT), embedding_dim=128, initial_temperature=0.07):
        super().__init__()
        self.branches = Branches(modalities)
        self.proj = nn.ModuleDict({m: nn.Linear(128, embedding_dim) for m in self.branches.modalities})
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / initial_temperature)))

    def forward(self, x):
        features = self.branches(x)
        a, b = (F.normalize(self.proj[m](features[m]), dim=-1) for m in self.branches.modalities)
        return torch.clamp(self.log_scale.exp(), max=100.0) * a @ b.t()


def build(name, modalities=(AUDIO, IMAGE, TEXT)):
    """The PyTorch port of zoo architecture `name`."""
    if name == "clip":  # a dual encoder: text and image when three modalities are given, as the benchmark does
        return CLIP(tuple(m for m in sorted(modalities) if m in (IMAGE, TEXT)) if len(modalities) > 2 else modalities)
    if name == "late_fusion":
        return LateFusion(modalities)
    if name in VECTOR_FUSIONS or name in SEQUENCE_FUSIONS:
        return FusionModel(name, modalities)
    raise KeyError(f"No PyTorch port of '{name}'.")


def loss_fn(name):
    """Cross-entropy on logits; clip's symmetric InfoNCE against the diagonal."""
    if name == "clip":

        def contrastive(logits, _labels):
            target = torch.arange(logits.shape[0])
            return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2

        return contrastive
    return F.cross_entropy


def count_params(model):
    """Parameters plus BatchNorm running statistics (what Keras's `count_params` includes)."""
    stats = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    return sum(p.numel() for p in model.parameters()) + stats


def check_params(torch_params, keras_params, tolerance=0.01):
    """Relative difference; raises if the port's size is off by more than `tolerance`."""
    diff = abs(torch_params - keras_params) / keras_params
    if diff > tolerance:
        raise AssertionError(
            f"PyTorch port has {torch_params:,} parameters, Keras {keras_params:,} "
            f"({diff:.2%} apart, more than {tolerance:.0%})."
        )
    return diff


def to_torch_batch(x, channels_last=False):
    """NumPy reference batch (NHWC uint8 images, int ids, float waves, NTHWC clips) -> torch tensors (NCHW, NCTHW)."""
    out = {}
    for name, value in x.items():
        t = torch.from_numpy(value)
        if name == IMAGE:
            t = t.permute(0, 3, 1, 2).contiguous(
                memory_format=torch.channels_last if channels_last else torch.contiguous_format
            )
        elif name == VIDEO:  # (B, T, H, W, C) -> NCTHW
            t = t.permute(0, 4, 1, 2, 3).contiguous()
        elif name == TEXT:
            t = t.long()
        out[name] = t
    return out

"""The fusion architectures of the zoo: named presets of the generic builder.

Each entry is data (DESIGN 4.8: presets are plain dicts): the fusion layer,
its options for 2, 3 or 4 inputs, and whether encoders hand over token
sequences. `register_preset` turns each into a registered builder.
"""

from mmzoo.models.core import build_fusion_model
from mmzoo.registry import register_model

PRESETS = {
    "early_fusion": {
        "fusion": "concat",
        "paper": "early (feature-level) fusion; Baltrusaitis et al. 2019 survey",
        "fuses": "encoder vectors, concatenated",
    },
    "weighted_sum": {
        "fusion": "weighted_sum",
        "fusion_options": {"units": 128},
        "paper": "learned softmax-weighted sum of modality features",
        "fuses": "projected vectors, weighted",
    },
    "additive": {
        "fusion": "additive",
        "fusion_options": {"units": 128},
        "paper": "sum of projected modality features",
        "fuses": "projected vectors, summed",
    },
    "gmu": {
        "fusion": "gmu",
        "fusion_options": {"units": 128},
        "paper": "Arevalo et al. 2017, Gated Multimodal Units",
        "fuses": "vectors, gated per unit",
    },
    "tfn": {
        "fusion": "tfn",
        "fusion_options": {2: {"units": 32}, 3: {"units": 12}, 4: {"units": 6}},
        "paper": "Zadeh et al. 2017, Tensor Fusion Network",
        "fuses": "outer product of [h;1] vectors",
    },
    "lmf": {
        "fusion": "lmf",
        "fusion_options": {"units": 128, "rank": 4},
        "paper": "Liu et al. 2018, Low-rank Multimodal Fusion",
        "fuses": "rank-r factorised tensor fusion",
    },
    "mfb": {
        "fusion": "mfb",
        "fusion_options": {"units": 128, "factor": 5},
        "paper": "Yu et al. 2017, Multimodal Factorized Bilinear pooling",
        "fuses": "factorised bilinear pooling",
    },
    "mfh": {
        "fusion": "mfh",
        "fusion_options": {"units": 128, "factor": 5, "order": 2},
        "paper": "Yu et al. 2018, Multimodal Factorized High-order pooling",
        "fuses": "cascaded MFB blocks",
    },
    "attention": {
        "fusion": "attention",
        "fusion_options": {"units": 128},
        "paper": "attention over modalities (Hori et al. 2017)",
        "fuses": "vectors, softmax-attended",
    },
    "mult": {
        "fusion": "cross_attention",
        "fusion_options": {"units": 64, "num_heads": 4, "num_layers": 2},
        "sequences": True,
        "paper": "Tsai et al. 2019, Multimodal Transformer (MulT)",
        "fuses": "token sequences, cross-modal attention",
    },
    "transformer": {
        "fusion": "transformer",
        "fusion_options": {"units": 64, "num_heads": 4, "num_layers": 2},
        "sequences": True,
        "paper": "early-fusion transformer over modality tokens (e.g. VATT, Akbari et al. 2021)",
        "fuses": "all modality tokens, self-attention",
    },
}


def _options_for(preset, num_inputs):
    options = preset.get("fusion_options", {})
    if options and all(isinstance(k, int) for k in options):
        return dict(options[min(max(num_inputs, min(options)), max(options))])
    return dict(options)


def register_preset(name, preset):
    """Registers `build_<name>`: the generic builder with this preset's fusion and options."""

    def builder(inputs, task, fusion=None, fusion_options=None, **options):
        chosen = _options_for(preset, len(inputs))
        chosen.update(fusion_options or {})
        options.setdefault("name", name)
        options.setdefault("sequences", preset.get("sequences", False))
        return build_fusion_model(inputs, task, fusion=fusion or preset["fusion"], fusion_options=chosen, **options)

    builder.__name__ = f"build_{name}"
    builder.__doc__ = (
        f"{preset['paper']}: per-input encoders, `{preset['fusion']}` fusion, an MLP head.\n\n"
        f"Fuses {preset['fuses']}. Options are those of `build_fusion_model`; `fusion_options`\n"
        f"override the preset's ({_options_for(preset, 2)} for two inputs).\n"
    )
    meta = {k: v for k, v in preset.items() if k in ("paper", "fuses", "fusion")}
    return register_model(name, **meta)(builder)


for _name, _preset in PRESETS.items():
    globals()[f"build_{_name}"] = register_preset(_name, _preset)

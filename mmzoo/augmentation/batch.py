"""Batch-level augmentation: MixUp and CutMix, which mix examples and therefore their labels.

They cannot be layers of the model's graph (the graph never sees labels):
`MultimodalModel.train_step` mixes the batch (`mix_batch`) and trains on
`λ·loss(y) + (1-λ)·loss(y_other)` per example, which for a cross-entropy
is the loss of the mixed label (Zhang et al. 2018, MixUp; Yun et al. 2019,
CutMix). The randomness is stateless (seeded by the optimizer step), so no
variable of it exists anywhere, let alone in an export.
"""

import dataclasses

import tensorflow as tf

from mmzoo.registry import AUGMENTATIONS, register_augmentation


@dataclasses.dataclass(frozen=True)
class BatchMix:
    """One batch-mixing declaration: `mode` ("mixup" or "cutmix") and its Beta(alpha, alpha) parameter."""

    mode: str
    alpha: float


@register_augmentation("mixup", modalities=("image", "audio"), stage="batch", primary="alpha")
def _mixup(spec, alpha=0.2):
    """MixUp: `λ·x + (1-λ)·x_other`, λ ~ Beta(alpha, alpha) per example (pixels or waveforms)."""
    return BatchMix("mixup", float(alpha))


@register_augmentation("cutmix", modalities=("image",), stage="batch", primary="alpha")
def _cutmix(spec, alpha=1.0):
    """CutMix: a box of another image pasted in, its area `1-λ` with λ ~ Beta(alpha, alpha) per example."""
    return BatchMix("cutmix", float(alpha))


def batch_plan(specs):
    """`(BatchMix, [input names])` from the specs' `augment=`, or None; one mode per model."""
    found = {}
    for spec in specs:
        for name, options in (spec.augment or {}).items():
            if AUGMENTATIONS.meta(name)["stage"] == "batch":
                found.setdefault(AUGMENTATIONS.get(name)(spec, **options), []).append(spec.name)
    if not found:
        return None
    if len(found) > 1:
        described = "; ".join(f"{m.mode}(alpha={m.alpha}) on {', '.join(n)}" for m, n in found.items())
        raise ValueError(
            f"Batch mixing draws one partner and one λ per example for the whole model, so every input "
            f"that declares it must declare the same one; received {described}."
        )
    return next(iter(found.items()))


def _beta(shape, alpha, seed):
    a = tf.random.stateless_gamma(shape, seed=seed, alpha=alpha)
    b = tf.random.stateless_gamma(shape, seed=seed + [0, 1], alpha=alpha)
    return a / (a + b)


def mix_batch(x, mix, names, step):
    """The batch `x` with `names` mixed with a shuffled copy; returns `(x, partner_index, λ)`.

    Args:
        x: dict of input tensors (batch first).
        mix: the `BatchMix`.
        names: the inputs to mix.
        step: an integer tensor (the optimizer's step) seeding the draw.
    """
    x = {k: tf.convert_to_tensor(v) for k, v in x.items()}
    first = x[names[0]]
    batch = tf.shape(first)[0]
    seed = tf.stack([tf.cast(step, tf.int32), tf.constant(7, tf.int32)])
    partner = tf.argsort(tf.random.stateless_uniform([batch], seed=seed))
    lam = _beta([batch], mix.alpha, seed + [1, 0])
    out = dict(x)
    if mix.mode == "cutmix":
        height, width = tf.shape(first)[1], tf.shape(first)[2]
        cut = tf.sqrt(1.0 - lam)
        box_h = tf.cast(tf.round(cut * tf.cast(height, tf.float32)), tf.int32)
        box_w = tf.cast(tf.round(cut * tf.cast(width, tf.float32)), tf.int32)
        u = tf.random.stateless_uniform([2, batch], seed=seed + [2, 0])
        top = tf.cast(u[0] * tf.cast(height - box_h + 1, tf.float32), tf.int32)
        left = tf.cast(u[1] * tf.cast(width - box_w + 1, tf.float32), tf.int32)
        rows, cols = tf.range(height)[None, :], tf.range(width)[None, :]
        inside_rows = (rows >= top[:, None]) & (rows < (top + box_h)[:, None])
        inside_cols = (cols >= left[:, None]) & (cols < (left + box_w)[:, None])
        box = (inside_rows[:, :, None] & inside_cols[:, None, :])[..., None]
        for name in names:
            out[name] = tf.where(box, tf.gather(x[name], partner), x[name])
        area = tf.cast(box_h * box_w, tf.float32) / tf.cast(height * width, tf.float32)
        return out, partner, 1.0 - area
    for name in names:
        value = x[name]
        shape = tf.concat([[batch], tf.ones([tf.rank(value) - 1], tf.int32)], 0)
        weight = tf.reshape(lam, shape)
        mixed = weight * tf.cast(value, tf.float32) + (1.0 - weight) * tf.cast(tf.gather(value, partner), tf.float32)
        out[name] = tf.cast(tf.round(mixed) if value.dtype.is_integer else mixed, value.dtype)
    return out, partner, lam

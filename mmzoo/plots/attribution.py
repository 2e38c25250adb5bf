"""One matplotlib figure per model of how much each modality matters (see `mmzoo.attribution`)."""

import numpy as np  # noqa: E402

from mmzoo.analysis.attribution import (  # noqa: E402
    ablation,
    attribution_points,
    attribution_shares,
    fusion_weights,
    integrated_gradients,
)
from mmzoo.plots.figure import finish, new_figure


def _modalities(model):
    return {c["name"]: c.get("modality", "features") for c in getattr(model, "spec_configs", [])}


def _bar(ax, values, title, ylabel, color):
    names = list(values)
    ax.bar(range(len(names)), [values[n] for n in names], color=color)
    ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 3 else 0)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


def _image_panel(ax, name, pixels, attribution):
    image = np.asarray(pixels, np.float64)
    image = (image - image.min()) / max(image.max() - image.min(), 1e-12)
    heat = np.abs(attribution).sum(axis=-1)
    ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
    ax.imshow(heat / max(heat.max(), 1e-12), cmap="inferno", alpha=0.55)
    ax.set_title(f"{name}: |IG| over the image")
    ax.axis("off")


def _audio_panel(ax, name, representation, attribution, sample_rate):
    attribution = np.abs(np.asarray(attribution, np.float64))
    if attribution.ndim == 2 and attribution.shape[-1] > 1:  # (time, mel): |IG| over the log-mel
        ax.imshow(np.asarray(representation, np.float64).T, origin="lower", aspect="auto", cmap="gray")
        ax.imshow(
            (attribution / max(attribution.max(), 1e-12)).T, origin="lower", aspect="auto", cmap="inferno", alpha=0.55
        )
        ax.set_xlabel("frame")
        ax.set_ylabel("mel bin")
        ax.set_title(f"{name}: |IG| over the log-mel")
        return
    wave = np.asarray(representation, np.float64).reshape(-1)
    saliency = attribution.reshape(-1)
    window = max(1, len(wave) // 100)
    frames = len(saliency) // window
    envelope = saliency[: frames * window].reshape(frames, window).sum(axis=1)
    seconds = np.arange(len(wave)) / sample_rate
    ax.plot(seconds, wave / max(np.abs(wave).max(), 1e-12), color="lightgrey", linewidth=0.6, label="waveform")
    ax.plot(
        (np.arange(frames) + 0.5) * window / sample_rate,
        envelope / max(envelope.max(), 1e-12),
        color="crimson",
        label="|IG| per window",
    )
    ax.set_xlabel("seconds")
    ax.set_title(f"{name}: saliency over time")
    ax.legend(fontsize=7, loc="upper right")


def _features_panel(ax, name, attribution):
    values = np.abs(np.asarray(attribution, np.float64))
    if values.ndim == 3:  # (batch, steps, dim): steps x features heat map
        ax.imshow(values.mean(axis=0).T, aspect="auto", cmap="viridis")
        ax.set_xlabel("step")
        ax.set_ylabel("feature")
    else:
        mean = values.reshape(len(values), -1).mean(axis=0)
        ax.bar(range(len(mean)), mean, color="tab:green")
        ax.set_xlabel("feature")
    ax.set_title(f"{name}: mean |IG| per feature")


def plot_attribution(model, inputs_batch, labels=None, path=None, steps=32, metric=None, title=None):
    """One figure of per-modality attribution for `model` on a batch.

    Panels, in order: the integrated-gradients share of each modality
    (text is attributed by ablation only, so it has no bar here); the
    ablation drop of each modality (with `labels`; "presence" or "baseline"
    masking, see `mmzoo.attribution.ablation`); the fusion's modality
    weights as box plots over the batch (attention, weighted_sum, gmu,
    late_fusion only); then one panel per attributed modality of the first
    example: an |IG| heat map over the image (as the encoder sees it), over
    the log-mel spectrogram of audio (|IG| over time for raw-waveform
    encoders), and mean |IG| per feature for feature inputs.

    Args:
        model: a multimodal model with one output (e.g. from `mmzoo.build_model`).
        inputs_batch: `{input_name: array}`, a modest batch (IG runs `steps` passes over it).
        labels: optional labels; integer class labels are also the IG target.
        path: if given, the figure is saved there as PNG.
        steps: integrated-gradients quadrature points.
        metric: ablation metric (default from the model's task).
        title: figure title; default the model name.

    Returns:
        The matplotlib `Figure` (one axis per panel).

    Example:
        >>> import numpy as np, mmzoo
        >>> specs = [mmzoo.Features("a", shape=(3,), normalize=False), mmzoo.Features("b", shape=(2,), normalize=False)]
        >>> model = mmzoo.build_model("weighted_sum", specs, mmzoo.Classification(2))
        >>> x = {"a": np.ones((4, 3), "float32"), "b": np.ones((4, 2), "float32")}
        >>> len(plot_attribution(model, x, np.zeros(4, int), steps=4).axes)
        5
    """
    target = None
    if labels is not None and np.asarray(labels).ndim == 1 and np.asarray(labels).dtype.kind in "iu":
        target = np.asarray(labels)
    attributions = integrated_gradients(model, inputs_batch, steps=steps, target=target)
    weights = fusion_weights(model, inputs_batch)
    drops = ablation(model, inputs_batch, labels, metric=metric) if labels is not None else None
    kinds = _modalities(model)
    not_attributed = [n for n in kinds if n not in attributions]
    panels = 1 + (drops is not None) + bool(weights) + len(attributions)
    columns = min(3, panels)
    rows = -(-panels // columns)
    fig, axes = new_figure(rows, columns, figsize=(4.4 * columns, 3.4 * rows))
    axes = list(axes.ravel())
    for ax in axes[panels:]:
        fig.delaxes(ax)
    axes = iter(axes[:panels])
    note = f" (no IG for {', '.join(not_attributed)})" if not_attributed else ""
    _bar(next(axes), attribution_shares(attributions), f"IG share{note}", "share of |IG|", "tab:blue")
    if drops is not None:
        how = "/".join(sorted(set(drops.method.values())))
        _bar(next(axes), dict(drops), f"{drops.metric} drop when masked ({how})", "drop", "tab:orange")
    if weights:
        ax = next(axes)
        names = list(weights)
        ax.boxplot([weights[n] for n in names])
        ax.set_xticks(range(1, len(names) + 1), names)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title("fusion weights over the batch")
    points = attribution_points(model)
    for name, attribution in attributions.items():
        ax, kind = next(axes), kinds.get(name, "features")
        preprocess = points[name][1]  # to the attributed representation, e.g. the log-mel of a waveform
        raw = np.asarray(inputs_batch[name])[:1]
        raw = np.asarray(preprocess(raw, training=False)) if preprocess is not None else raw
        if kind == "image":
            _image_panel(ax, name, raw[0], attribution[0])
        elif kind == "audio":
            rate = next(c for c in model.spec_configs if c["name"] == name).get("sample_rate", 1)
            _audio_panel(ax, name, raw[0], attribution[0], rate)
        else:
            _features_panel(ax, name, attribution)
    fig.suptitle(title or f"{model.name}: attribution per modality")
    return finish(fig, path)

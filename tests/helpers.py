"""Small specs and data for fast registry-wide tests."""

import keras
import numpy as np

import mmzoo

TEXT = ["a good film", "a bad film", "great acting and a fine plot", "dull and slow", "fine", "bad acting"]


def small_inputs(modalities=("text", "image", "audio", "features"), overrides=None):
    """Tiny specs (adapted where needed) and 8 examples of matching data.

    `overrides` maps a modality to spec arguments (e.g. a registry entry's
    `spec_options`, like `{"image": {"shape": (32, 32, 3)}}`).
    """
    rng = np.random.default_rng(0)
    n, specs, x = 8, [], {}
    overrides = overrides or {}
    for modality in modalities:
        extra = dict(overrides.get(modality, {}))
        if modality == "text":
            spec = mmzoo.Text("text", **{"vocabulary_size": 32, "sequence_length": 6, **extra})
            x["text"] = np.array([TEXT[i % len(TEXT)] for i in range(n)], dtype=object)
            spec.adapt(x["text"])
        elif modality == "image":
            spec = mmzoo.Image("image", **{"shape": (12, 12, 3), **extra})
            x["image"] = rng.integers(0, 256, (n,) + spec.shape).astype("uint8")
        elif modality == "audio":
            spec = mmzoo.Audio("audio", **{"sample_rate": 4000, "seconds": 0.25, "num_mel_bins": 16, **extra})
            x["audio"] = (0.1 * rng.standard_normal((n, 1000))).astype("float32")
        elif modality == "video":
            spec = mmzoo.Video("video", **{"frames": 4, "shape": (12, 12, 3), **extra})
            x["video"] = rng.integers(0, 256, (n,) + spec.shape).astype("uint8")
        else:
            spec = mmzoo.Features("features", **{"shape": (5,), **extra})
            x["features"] = rng.standard_normal((n,) + spec.shape).astype("float32")
            spec.adapt(x["features"])
        specs.append(spec)
    return specs, x, n


def tiny_early_fusion(specs, num_classes=2):
    """`early_fusion` over `specs` with the smallest encoders (4 filters/units): for input-checking tests."""
    small = {"filters": (4,), "units": 4}
    return mmzoo.build_model(
        "early_fusion",
        specs,
        mmzoo.Classification(num_classes=num_classes),
        encoders={
            "image": ("cnn", small),
            "audio": ("cnn", small),
            "text": ("bilstm", {"units": 4, "embedding_dim": 4}),
        },
    )


def run_cli(*args, capsys):
    """`python -m mmzoo ARGS` in this process: `(exit code, stdout, stderr)`.

    `python -m mmzoo` is `sys.exit(main())`, so this runs the same code without
    the ~8 s of a new interpreter importing TensorFlow; tests of the entry point
    itself (the main job, SIGKILL and resume) still start a process.
    """
    import sys

    from mmzoo.cli.commands import main

    try:
        code = main(list(args))
    except SystemExit as exit_:  # sys.exit("message"): Python prints the message to stderr and exits with 1
        code = exit_.code if isinstance(exit_.code, int) else 1
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
    out, err = capsys.readouterr()
    return code, out, err


def code_layers(model):
    """Names of code-carrying layers anywhere in `model`, nested layers of custom layers included."""
    from mmzoo.artifacts.safety import CODE_LAYERS

    layers = model._flatten_layers(include_self=False, recursive=True)
    assert len(layers) > len(model.layers)  # the walk reaches inside encoders and fusions
    return [
        layer.name for layer in layers if type(layer).__name__ in CODE_LAYERS or isinstance(layer, keras.layers.Lambda)
    ]

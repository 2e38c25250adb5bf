"""Lists the op types of the SavedModels `mmzoo.export` writes, to derive `mmzoo.artifacts.savedmodel_scan.ALLOWED_OPS`.

Exports (`serve` and `serve_bytes`) every registered model, every model with
presence inputs, every encoder on every modality it takes, every task and
every spec option that changes the graph (text output modes, token ids and
standardizations, float images, log-mel/MFCC/waveform audio, sequence and
unnormalized features, float grey video resized in the graph; `serve_bytes`
decodes GIF for video), on the small inputs of the test suite, then prints
the ops found outside TensorFlow's saver function and those not yet allowed.

Usage (from the repository root; ~10 minutes on 2 CPU cores):
    python scripts/savedmodel_ops.py [--skip-slow]
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mmzoo  # noqa: E402
from mmzoo.artifacts.savedmodel_scan import ALLOWED_OPS, SAVER_OPS, op_types  # noqa: E402
from mmzoo.registry import ENCODERS, MODELS  # noqa: E402
from tests.helpers import small_inputs  # noqa: E402
from tests.models.test_registry import MODEL_INPUTS, SMALL_OPTIONS, TASKS, _small_fusion  # noqa: E402

CLASSIFY = mmzoo.Classification(num_classes=2)


def _encoders(specs):
    return {s.name: (s.default_encoder, SMALL_OPTIONS.get(s.default_encoder, {})) for s in specs}


def model_cases():
    for name in mmzoo.list_models():
        if MODELS.meta(name).get("task") == "retrieval":
            specs, _, _ = small_inputs(("image", "text"))
            task = mmzoo.Retrieval(embedding_dim=8)
        else:
            specs, _, _ = small_inputs(MODEL_INPUTS.get(name, ("text", "image", "audio", "features")))
            task = CLASSIFY
        yield (
            f"model {name}",
            lambda n=name, s=specs, t=task: mmzoo.build_model(n, s, t, encoders=_encoders(s), **_small_fusion(n)),
        )
        if MODELS.meta(name).get("task") != "retrieval":
            specs, _, _ = small_inputs(("image", "audio", "features"))
            yield (
                f"model {name} with presence inputs",
                lambda n=name, s=specs: mmzoo.build_model(
                    n, s, CLASSIFY, encoders=_encoders(s), missing_modalities=True, **_small_fusion(n)
                ),
            )


def encoder_cases(skip_slow):
    for encoder in ENCODERS.names():
        if skip_slow and ENCODERS.meta(encoder).get("slow"):
            continue
        for modality in ENCODERS.meta(encoder)["modalities"]:
            other = "features" if modality != "features" else "image"
            overrides = {modality: ENCODERS.meta(encoder).get("spec_options", {})}
            specs, _, _ = small_inputs((modality, other), overrides=overrides)
            yield (
                f"encoder {encoder} on {modality}",
                lambda s=specs, e=encoder, m=modality: mmzoo.build_model(
                    "early_fusion", s, CLASSIFY, encoders={m: (e, SMALL_OPTIONS.get(e, {}))}
                ),
            )


def option_cases():
    for task in sorted(TASKS):
        specs, _, _ = small_inputs(("text", "features"))
        yield f"task {task}", lambda s=specs, t=TASKS[task]: mmzoo.build_model("early_fusion", s, t)
    variants = [("text", {"output_mode": mode}) for mode in ("multi_hot", "count", "tf_idf")]
    variants += [("text", {"standardize": mode}) for mode in ("lower", "strip_punctuation", None)]
    variants += [
        ("text", {"token_ids": True}),
        ("image", {"dtype": "float32"}),
        ("audio", {"frontend": "mfcc", "num_mfcc": 8}),
        ("audio", {"frontend": "waveform"}),
        ("features", {"normalize": False}),
        ("features", {"shape": (4, 3)}),
        ("video", {"dtype": "float32", "shape": (12, 12, 1), "resize": (16, 16)}),
    ]
    for modality, options in variants:
        specs, _, _ = small_inputs(
            (modality, "image" if modality != "image" else "features"), overrides={modality: options}
        )
        yield (
            f"{modality} {options}",
            lambda s=specs: mmzoo.build_model("early_fusion", s, CLASSIFY, encoders=_encoders(s)),
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-slow", action="store_true", help="leave out the keras.applications backbones")
    args = parser.parse_args()
    found = {}
    folder = tempfile.mkdtemp()
    cases = [*model_cases(), *encoder_cases(args.skip_slow), *option_cases()]
    for i, (label, build) in enumerate(cases):
        try:
            path = mmzoo.export(build(), os.path.join(folder, str(i)))
        except Exception as error:  # one broken case must not hide the ops of the others
            print(f"[{i + 1}/{len(cases)}] {label}: FAILED {type(error).__name__}: {error}", flush=True)
            continue
        for op, places in op_types(path).items():
            if any("_traced_save_" not in place for place in places) or op not in SAVER_OPS:
                found.setdefault(op, label)
        print(f"[{i + 1}/{len(cases)}] {label}: {len(found)} ops so far", flush=True)
    print("ALLOWED_OPS = frozenset({")
    print("\n".join(f'    "{op}",  # first in: {found[op]}' for op in sorted(found)))
    print("})")
    print("not in ALLOWED_OPS yet:", sorted(set(found) - ALLOWED_OPS))
    print("in ALLOWED_OPS, not found:", sorted(ALLOWED_OPS - set(found)))


if __name__ == "__main__":
    main()

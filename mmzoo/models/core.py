"""The generic multimodal builder every fusion architecture is a thin preset of."""

import keras

import mmzoo.encoders  # noqa: F401  (registers the built-in encoders this builder resolves by name)
import mmzoo.fusion  # noqa: F401  (registers the built-in fusions)
from mmzoo.augmentation.plan import augment_branch, normalize
from mmzoo.models.multimodal import MultimodalModel
from mmzoo.registry import ENCODERS, FUSIONS
from mmzoo.specs import Spec
from mmzoo.specs.presence import ModalityDropout, presence_name


def _resolve(registry, choice, default, **kwargs):
    """A layer from a registry name, a `(name, options)` pair, or a layer instance."""
    if choice is None:
        choice = default
    if isinstance(choice, keras.layers.Layer):
        return choice
    options = {}
    if isinstance(choice, (tuple, list)):
        choice, options = choice
    builder = registry.get(choice)
    return builder, {**kwargs, **options}


def build_encoder(spec, choice, sequences=False):
    resolved = _resolve(ENCODERS, choice, spec.default_encoder)
    if isinstance(resolved, keras.layers.Layer):
        return resolved
    builder, options = resolved
    name = choice[0] if isinstance(choice, (tuple, list)) else (choice or spec.default_encoder)
    allowed = ENCODERS.meta(name).get("modalities", ())
    if spec.modality not in allowed:
        raise ValueError(
            f"Encoder '{name}' does not take {spec.modality} input '{spec.name}' (it takes "
            f"{', '.join(allowed)}). Encoders for {spec.modality}: "
            f"{', '.join(ENCODERS.names(modalities=spec.modality))}."
        )
    if sequences:
        options.setdefault("return_sequences", True)
    return builder.from_spec(spec, name=f"{spec.name}_encoder", **options)


def tokenizes_text(choice):
    """Whether encoder `choice` (name, `(name, options)` or layer) brings its own text tokenizer.

    Such an encoder (registered with `raw_text=True`, e.g. "keras_hub") turns the
    raw strings into token ids itself, so its `Text` input needs no adapted vocabulary.
    """
    if isinstance(choice, keras.layers.Layer):
        return hasattr(choice, "preprocess_input")
    name = choice[0] if isinstance(choice, (tuple, list)) else choice
    return isinstance(name, str) and name in ENCODERS and bool(ENCODERS.meta(name).get("raw_text"))


def check_inputs(inputs, encoders):
    if isinstance(inputs, Spec):
        inputs = [inputs]
    inputs = list(inputs)
    if not inputs:
        raise ValueError("build_model needs at least one input spec (mmzoo.Text, Image, Audio, Features).")
    for spec in inputs:
        if not isinstance(spec, Spec):
            raise TypeError(
                f"build_model inputs must be mmzoo specs (mmzoo.Text, Image, Audio, Features); "
                f"received {type(spec).__name__}."
            )
    names = [s.name for s in inputs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Input names must be unique; repeated: {', '.join(duplicates)}.")
    unknown = sorted(set(encoders or {}) - set(names))
    if unknown:
        raise ValueError(f"encoders= names unknown input(s) {', '.join(unknown)}; inputs are {', '.join(names)}.")
    for spec in inputs:
        if not tokenizes_text((encoders or {}).get(spec.name)):
            spec.check_ready()
    return inputs


def check_augment(inputs, augment):
    """`augment=` of a builder: a dict keyed by input names (unknown names are an error)."""
    if augment is None:
        return {}
    if not isinstance(augment, dict):
        raise ValueError(
            f"augment= of build_model is a dict {{input_name: augmentations}}; received {type(augment).__name__}. "
            f"To augment one input, pass augment= to its spec instead."
        )
    unknown = sorted(set(augment) - {s.name for s in inputs})
    if unknown:
        names = ", ".join(s.name for s in inputs)
        raise ValueError(f"augment= names unknown input(s) {', '.join(unknown)}; inputs are {names}.")
    return augment


def build_branches(
    inputs, encoders=None, sequences=False, missing_modalities=False, modality_dropout=0.0, name="model", augment=None
):
    """One branch per input: `keras.Input` -> in-graph preprocessing -> encoder.

    Inputs with training augmentations (their spec's `augment=`, or
    `augment={input_name: ...}` here, which takes precedence) get
    `Augmentation` layers around the preprocessing, active in training only.

    Returns:
        `(keras_inputs, features, presence)`: the dict of `keras.Input`s
        (including `<name>_present` flags with `missing_modalities`), the
        dict of encoder outputs (absent modalities zeroed), and the presence
        dict (None when neither masks nor modality dropout are used).
    """
    encoders = dict(encoders or {})
    inputs = check_inputs(inputs, encoders)
    augment = check_augment(inputs, augment)
    keras_inputs, features = {}, {}
    for spec in inputs:
        x = keras_inputs[spec.name] = spec.input()
        encoder = build_encoder(spec, encoders.get(spec.name), sequences=sequences)
        # An encoder may bring its own preprocessing (a pretrained model's tokenizer); else the spec's.
        own = getattr(encoder, "preprocess_input", None)
        preprocess = (lambda t, spec=spec, own=own: own(spec, t)) if own else None
        own_features = bool(getattr(encoder, "computes_features", False))  # e.g. a Whisper preset's log-mel
        branch = augment_branch(spec, x, augment.get(spec.name), preprocess=preprocess, encoder_features=own_features)
        features[spec.name] = encoder(branch)
    presence = None
    if missing_modalities:
        presence = {}
        for spec in inputs:
            key = presence_name(spec.name)
            presence[spec.name] = keras_inputs[key] = keras.Input(shape=(), dtype="bool", name=key)
    if missing_modalities or modality_dropout:
        features, presence = ModalityDropout(modality_dropout, name=f"{name}_modality_dropout")(
            features, presence=presence
        )
    return keras_inputs, features, presence


def build_fusion_model(
    inputs,
    task,
    encoders=None,
    fusion="concat",
    fusion_options=None,
    head_units=(128,),
    dropout=0.2,
    name="fusion_model",
    compile=True,
    learning_rate=1e-3,
    sequences=False,
    missing_modalities=False,
    modality_dropout=0.0,
    augment=None,
):
    """The generic builder: per-input preprocessing and encoder, a fusion layer, a task head.

    Args:
        inputs: list of specs (`mmzoo.Text`, `Image`, `Audio`, `Features`).
        task: a task (`mmzoo.Classification`, `mmzoo.Regression`).
        encoders: optional `{input_name: encoder}` overrides; an encoder is a
            registry name, a `(name, options)` pair, or a Keras layer.
        fusion: a fusion registry name, `(name, options)` pair, or layer.
        fusion_options: keyword arguments for the fusion layer.
        head_units: hidden Dense sizes between the fusion and the output.
        dropout: dropout before each hidden Dense.
        name: model name; layers are named `<input>_<part>` and `<name>_fusion`.
        compile: compile with the task's loss and metrics.
        learning_rate: Adam learning rate (or schedule) when compiling.
        sequences: encoders return token sequences (for attention fusions).
        missing_modalities: add a boolean input `<name>_present` per input;
            where it is False that modality's features are zeroed and fusions
            give it no weight. `fit`/`predict` on dicts or datasets without
            these keys treat every modality as present.
        modality_dropout: in training, drop each modality of each sample with
            this probability (never all of them), so the model copes with
            missing modalities.
        augment: training-only augmentations per input, `{input_name:
            augmentations}` (the form of a spec's `augment=`, which this
            replaces for the inputs it names); see `mmzoo.list_augmentations()`.

    Returns:
        A `mmzoo.MultimodalModel`.
    """
    inputs = check_inputs(inputs, encoders)
    keras_inputs, features, presence = build_branches(
        inputs,
        encoders,
        sequences=sequences,
        missing_modalities=missing_modalities,
        modality_dropout=modality_dropout,
        name=name,
        augment=augment,
    )
    resolved = _resolve(FUSIONS, fusion, "concat", name=f"{name}_fusion", **(fusion_options or {}))
    fusion_layer = resolved if isinstance(resolved, keras.layers.Layer) else resolved[0](**resolved[1])
    x = fusion_layer(features, presence=presence) if presence is not None else fusion_layer(features)
    if task.kind == "text_generation":  # a decoder conditioned on the fused vector or token sequence
        from mmzoo.models.generation import attach_decoder

        return finish_model(
            keras_inputs, attach_decoder(keras_inputs, x, task, name), inputs, task, name, compile, learning_rate
        )
    for i, units in enumerate(head_units):
        x = keras.layers.Dropout(dropout, name=f"head_dropout{i}")(x)
        x = keras.layers.Dense(units, activation="relu", name=f"head_dense{i}")(x)
    return finish_model(keras_inputs, task.head(x), inputs, task, name, compile, learning_rate, augment)


def finish_model(keras_inputs, outputs, inputs, task, name, compile=True, learning_rate=1e-3, augment=None):
    """Wraps a graph in a `MultimodalModel` carrying the specs (with `augment=` of the build) and task; compiles it."""
    specs = []
    for spec in inputs:
        config = spec.get_config()
        if (augment or {}).get(spec.name) is not None:
            where = f"{spec.modality.capitalize()} input '{spec.name}'"
            config["augment"] = normalize(augment[spec.name], where, spec.modality)
        specs.append(config)
    model = MultimodalModel(inputs=keras_inputs, outputs=outputs, name=name, specs=specs, task=task.get_config())
    if compile:
        from mmzoo.training.warmup import default_optimizer

        task.compile(model, optimizer=default_optimizer(model, learning_rate), learning_rate=learning_rate)
    return model

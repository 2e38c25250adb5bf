"""Transfer learning: pretrain encoders without labels, reuse them in a fusion model, fine-tune it.

The recipe (Radford et al. 2021, CLIP; Masci et al. 2011 for the audio
autoencoder): pretrain the per-modality encoders on plenty of unlabelled
data (`pretrain_contrastive` on paired inputs, or
`mmzoo.encoders.autoencoder.pretrain_autoencoder` on audio), take them out
with `pretrained_encoders`, build any fusion architecture on them with
`mmzoo.build_model(..., encoders=...)`, and train it on the few labels with
`fine_tune`: encoders frozen, or trained with their own, lower learning rate
(`mmzoo.training.split_optimizer.SplitOptimizer`).
"""

import keras
import tensorflow as tf

from mmzoo.data.arrays import from_arrays
from mmzoo.data.order import keep_order
from mmzoo.encoders.hub_trainability import set_trainable
from mmzoo.models.zoo import build_model
from mmzoo.specs.adapt import adapt
from mmzoo.tasks.task import Retrieval
from mmzoo.training.split_optimizer import SplitOptimizer

__all__ = ["fine_tune", "pretrain_contrastive", "pretrained_encoders"]


def _input_names(model):
    configs = getattr(model, "spec_configs", None)
    if configs:
        return [c["name"] for c in configs]
    return [t.name.split(":")[0] for t in model.inputs]


def _encoder_layers(model, names=None):
    """`{input_name: layer}` for the `<input>_encoder` layers of `model` (all inputs, or `names`)."""
    names = _input_names(model) if names is None else list(names)
    layers = {}
    for name in names:
        try:
            layers[name] = model.get_layer(f"{name}_encoder")
        except ValueError:
            known = sorted(layer.name for layer in model.layers if layer.name.endswith("_encoder"))
            raise ValueError(
                f"Model '{model.name}' has no encoder layer '{name}_encoder' for input '{name}'; "
                f"its encoder layers are: {', '.join(known) or 'none'}. mmzoo models name each "
                f"input's encoder '<input>_encoder'."
            ) from None
    return layers


def _clone(layer, name=None):
    """A copy of built `layer`: same class, config and weights (optionally renamed)."""
    config = keras.layers.serialize(layer)
    if name is not None:
        config["config"] = {**config["config"], "name": name}
    clone = keras.layers.deserialize(config)
    if not clone.built:
        clone.build(tuple(layer.input.shape))
    clone.set_weights(layer.get_weights())
    return clone


def _head_layers(model, name):
    """The `<name>_projection` and `<name>_embedding` layers of a dual encoder, or None."""
    try:
        return [model.get_layer(f"{name}_projection"), model.get_layer(f"{name}_embedding")]
    except ValueError:
        return None


def pretrained_encoders(model, inputs=None, projection=None):
    """The trained encoders of `model` as `{input_name: layer}`, ready for `build_model(..., encoders=...)`.

    Works on a trained `clip` model (`pretrain_contrastive`) and on any mmzoo
    model, whose input `x` is encoded by the layer `x_encoder`. For a dual
    encoder, the reused encoder is by default `x_encoder` followed by clip's
    projection and L2 normalisation (`x_projection`, `x_embedding`) as one
    `keras.Sequential` named `x_encoder`: the contrastive loss shapes that
    embedding, not the raw encoder features (on the generated data of
    `tests/training/test_transfer.py`, 4 labels per class reach ~0.98 nearest-centroid
    accuracy on the embedding but ~0.4 on the encoder features).

    Each returned layer is a *clone*: same classes, configs (including
    `trainable`) and weights. Fine-tuning the new model never changes
    `model`, so one pretrained model can seed several fine-tuned ones, and
    the result saves, reloads and exports like any mmzoo model (it holds its
    own copy of the weights).

    The encoders expect inputs preprocessed as in `model`: build the new
    model on the same spec objects you pretrained with (they hold the
    vocabulary and normalisation statistics).

    Args:
        model: a trained mmzoo model (e.g. the `clip` dual encoder).
        inputs: optional list of input names to take (default: every input).
        projection: include the dual encoder's projection and normalisation:
            None (default) where the model has them, True (required), False (never).

    Returns:
        `{input_name: keras layer}`, each named `<input>_encoder`.

    Example:
        >>> import mmzoo, numpy as np
        >>> specs = [mmzoo.Features("a", shape=(4,), normalize=False),
        ...          mmzoo.Features("b", shape=(4,), normalize=False)]
        >>> clip = mmzoo.build_model("clip", specs, mmzoo.Retrieval(embedding_dim=8))
        >>> encoders = pretrained_encoders(clip)
        >>> model = mmzoo.build_model("gmu", specs, mmzoo.Classification(3), encoders=encoders)
        >>> model.get_layer("a_encoder") is encoders["a"], encoders["a"].output.shape
        (True, (None, 8))
    """
    reused = {}
    for name, layer in _encoder_layers(model, inputs).items():
        head = _head_layers(model, name) if projection is not False else None
        if projection and head is None:
            raise ValueError(
                f"pretrained_encoders: model '{model.name}' has no projection for input '{name}' "
                f"(layers '{name}_projection' and '{name}_embedding', as in clip); pass "
                f"projection=None or False."
            )
        if head is None:
            reused[name] = _clone(layer, f"{name}_encoder")
            continue
        source = layer.input
        reused[name] = keras.Sequential(
            [keras.Input(batch_shape=tuple(source.shape), dtype=source.dtype)]
            + [_clone(part) for part in [layer] + head],
            name=f"{name}_encoder",
        )
    return reused


def _unfreeze(layer, everything):
    """Unfreezes an encoder: `layer.trainable = True`, and encoders inside it that chose what trains choose again.

    `everything`: every sublayer and weight trains (Keras's setter is called on
    each: on TensorFlow, assigning True where it already is skips the walk
    through the sublayers, `mmzoo.encoders.base.propagate_frozen`). Otherwise a
    KerasHub encoder keeps its LoRA / top blocks / freeze (its `unfreeze`).
    """
    if everything:
        for inner in layer._flatten_layers(include_self=True):
            set_trainable(inner, True)
    else:
        layer.trainable = True
    for inner in layer._flatten_layers(include_self=True):
        if callable(getattr(inner, "unfreeze", None)):
            inner.unfreeze(everything=everything)


def _optimizer(optimizer, learning_rate):
    """A fresh optimizer of the kind `optimizer` names (or is) with `learning_rate`."""
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return type(optimizer).from_config({**optimizer.get_config(), "learning_rate": learning_rate})
    template = keras.optimizers.get(optimizer)
    return type(template)(learning_rate=learning_rate)


def _dataset(data, batch_size, shuffle=False, seed=None, unlabelled=False, drop_remainder=False):
    """`data` (a dataset, a `{name: array}` dict or a `(features, labels)` pair) as a batched dataset."""
    if isinstance(data, tf.data.Dataset):
        if unlabelled and isinstance(data.element_spec, tuple):
            data = keep_order(data.map(lambda x, *_: x), data)  # contrastive targets come from the pairing
        return data
    if isinstance(data, dict):
        return from_arrays(data, batch_size=batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop_remainder)
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], dict):
        return from_arrays(data[0], data[1], batch_size=batch_size, shuffle=shuffle, seed=seed)
    raise TypeError(
        f"Expected a tf.data.Dataset, a {{input_name: array}} dict or a (features, labels) pair; "
        f"received {type(data).__name__}."
    )


def pretrain_contrastive(
    inputs,
    data,
    embedding_dim=64,
    epochs=10,
    encoders=None,
    batch_size=128,
    learning_rate=1e-3,
    seed=None,
    verbose=0,
    **options,
):
    """Trains a `clip` dual encoder on unlabelled pairs; returns it (take its encoders with `pretrained_encoders`).

    Radford et al. 2021 (CLIP): the symmetric contrastive loss pulls the two
    embeddings of a pair together and pushes the other pairs of the batch
    apart, so the encoders learn what the two modalities share. Specs that
    need adapting and are not yet (Features statistics, Text vocabularies)
    are adapted on `data` first, in place: reuse the same spec objects for
    the fine-tuned model.

    Args:
        inputs: the two input specs.
        data: unlabelled pairs: a `{name: array}` dict (batched here, shuffled,
            last partial batch dropped) or a `tf.data.Dataset` of batched
            `{name: x}` (labels, if any, are dropped).
        embedding_dim: size of the shared embedding.
        epochs: training epochs.
        encoders: optional `{input_name: encoder}` (as for `build_model`).
        batch_size: batch size for dict data (larger batches: more negatives).
        learning_rate: Adam learning rate.
        seed: shuffling seed for dict data.
        verbose: Keras verbosity.
        **options: more `build_clip` options (`initial_temperature`, `name`).

    Returns:
        The trained `clip` model (`model.history` holds the losses).

    Example:
        >>> import mmzoo, numpy as np
        >>> x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
        >>> specs = [mmzoo.Features("a", shape=(4,)), mmzoo.Features("b", shape=(4,))]
        >>> clip = pretrain_contrastive(specs, {"a": x, "b": -x}, embedding_dim=8, epochs=1, batch_size=32)
        >>> sorted(pretrained_encoders(clip))
        ['a', 'b']
    """
    inputs = list(inputs)
    pending = [s for s in inputs if s.needs_adapt and not getattr(s, "adapted", True)]
    n = len(next(iter(data.values()))) if isinstance(data, dict) else None
    ds = _dataset(
        data, batch_size, shuffle=True, seed=seed, unlabelled=True, drop_remainder=n is not None and n >= batch_size
    )
    if pending:
        adapt(pending, ds)
    model = build_model(
        "clip",
        inputs,
        Retrieval(embedding_dim=embedding_dim),
        encoders=encoders,
        learning_rate=learning_rate,
        **options,
    )
    model.fit(ds, epochs=epochs, verbose=verbose, shuffle=False)  # dict data is shuffled by the dataset
    return model


def fine_tune(
    model,
    train,
    validation=None,
    epochs=10,
    learning_rate=1e-3,
    encoder_learning_rate=None,
    freeze_encoders=False,
    unfreeze="own",
    encoders=None,
    optimizer="adam",
    batch_size=32,
    callbacks=None,
    verbose=0,
):
    """Compiles `model` for fine-tuning its (pretrained) encoders and trains it.

    The encoders are the layers `<input>_encoder` (e.g. from
    `pretrained_encoders`, or `pretrain_autoencoder`'s output passed as
    `encoders={"voice": encoder}`). Three modes:

    - `freeze_encoders=True`: the encoders get `trainable=False` (their
      BatchNorm runs in inference mode); only fusion and head train.
    - `encoder_learning_rate=r`: everything trains; the encoders with their
      own optimizer at rate `r`, the rest at `learning_rate` (`SplitOptimizer`).
    - neither: everything trains at `learning_rate`.

    With `freeze_encoders=False` the encoders are unfrozen (a previous
    freeze is undone: freeze-then-unfreeze is two calls), by default
    (`unfreeze="own"`) as each chose: a KerasHub encoder built with
    `lora_rank` trains its LoRA factors only, one with `trainable_blocks=n`
    its top n blocks, one with `freeze=True` nothing of its backbone; other
    encoders train whole. `unfreeze="all"` trains every weight of every
    encoder. The model is compiled with its task's loss and metrics; the
    freeze and the optimizer's split are saved with it.

    Args:
        model: an mmzoo model (it knows its task).
        train: a dataset of `({name: x}, y)`, or a `(features, labels)` pair of arrays.
        validation: optional validation data, same forms.
        epochs: training epochs.
        learning_rate: learning rate of the fusion and head (and of the encoders by default).
        encoder_learning_rate: optional learning rate of the encoders.
        freeze_encoders: freeze the encoders.
        unfreeze: without `freeze_encoders`: "own" (each encoder's own choice,
            as above) or "all" (every encoder weight trains).
        encoders: input names whose encoders count as pretrained (default: all inputs).
        optimizer: optimizer name (e.g. "adam", "sgd") or instance used as a template.
        batch_size: batch size for array data.
        callbacks: Keras callbacks.
        verbose: Keras verbosity.

    Returns:
        The Keras `History`.

    Example:
        >>> import mmzoo, numpy as np
        >>> spec = mmzoo.Audio("voice", sample_rate=4000, seconds=0.25, num_mel_bins=16)
        >>> waves = np.random.default_rng(0).standard_normal((16, 1000)).astype("float32")
        >>> from mmzoo.encoders.autoencoder import pretrain_autoencoder
        >>> encoder = pretrain_autoencoder(spec, waves, epochs=1, units=8, filters=(4,))
        >>> model = mmzoo.build_model("early_fusion", [spec], mmzoo.Classification(2), encoders={"voice": encoder})
        >>> history = fine_tune(model, ({"voice": waves}, np.arange(16) % 2), epochs=1, encoder_learning_rate=1e-4)
        >>> type(model.optimizer).__name__
        'SplitOptimizer'
    """
    if unfreeze not in ("own", "all"):
        raise ValueError(
            f"fine_tune: unfreeze must be 'own' (each encoder's own choice: LoRA, top blocks) or 'all' "
            f"(every encoder weight trains); received {unfreeze!r}."
        )
    task = getattr(model, "task", None)
    if task is None:
        raise TypeError(
            f"fine_tune needs an mmzoo model that knows its task (built by mmzoo.build_model); "
            f"received {type(model).__name__} '{model.name}'."
        )
    if freeze_encoders and encoder_learning_rate is not None:
        raise ValueError(
            f"fine_tune: freeze_encoders=True leaves nothing for encoder_learning_rate="
            f"{encoder_learning_rate} to train; pass one or the other."
        )
    layers = list(_encoder_layers(model, encoders).values())
    for layer in layers:
        if freeze_encoders:
            layer.trainable = False
        else:
            _unfreeze(layer, everything=unfreeze == "all")
    head = _optimizer(optimizer, learning_rate)
    if encoder_learning_rate is not None:
        head = SplitOptimizer.for_model(model, layers, head, _optimizer(optimizer, encoder_learning_rate))
    task.compile(model, optimizer=head)
    train = _dataset(train, batch_size, shuffle=True)
    if validation is not None:
        validation = _dataset(validation, batch_size)
    return model.fit(
        train, validation_data=validation, epochs=epochs, callbacks=callbacks, verbose=verbose, shuffle=False
    )  # array data is shuffled by the dataset

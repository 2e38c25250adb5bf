"""A registered dataset as a text-generation task: its text input or its class names become the target.

`task: {kind: text_generation, target: ...}` in an experiment config turns a
dataset's splits into `(features, target strings)` batches for
`mmzoo.TextGeneration`: the target is one of the dataset's text inputs (which
then leaves the model's inputs; e.g. the emoji images captioned with their
names) or `label`, the class names of its labels (e.g. a spoken digit to the
word "seven").
"""

import tensorflow as tf

from mmzoo.experiments.typecheck import ConfigError

LABEL = "label"


def _with_target(dataset, target, names):
    """`(features, y)` batches -> `(features without the target input, target strings)`."""
    from mmzoo.data.order import keep_order  # the mapping keeps the order mmzoo.train resumes

    if target == LABEL:
        table = tf.constant(names)
        mapped = dataset.map(lambda x, y: (x, tf.gather(table, tf.cast(y, tf.int32))))
    else:
        mapped = dataset.map(lambda x, y: ({k: v for k, v in x.items() if k != target}, x[target]))
    return keep_order(mapped, dataset)


def _train_targets(dataset):
    return [t.decode("utf-8") for batch in dataset.map(lambda x, y: y) for t in batch.numpy().reshape(-1)]


def generation_splits(config, dataset_task, parts, specs, names):
    """`(TextGeneration task, mapped splits, model input names)`; `adapt_target` then sets its vocabulary."""
    from mmzoo.tasks.generation import TextGeneration

    target = config.task.target
    known = list(specs)
    if target is None:
        raise ConfigError(
            f"task.target: kind text_generation needs a target: one of the dataset's inputs "
            f"({', '.join(known)}) or '{LABEL}' (the class names)"
        )
    class_names = None
    if target == LABEL:
        class_names = getattr(dataset_task, "class_names", None)
        if not class_names:
            raise ConfigError("task.target: 'label' needs a dataset whose task has class names")
    elif target not in known:
        raise ConfigError(f"task.target: unknown input '{target}'; the dataset has inputs {', '.join(known)}")
    elif specs[target].modality != "text":
        raise ConfigError(f"task.target: input '{target}' is {specs[target].modality}, not text")
    elif config.inputs.names and target in config.inputs.names:
        raise ConfigError(f"inputs.names: '{target}' is the generation target; leave it out of the model's inputs")
    names = [n for n in names if n != target]
    if not names:
        raise ConfigError(f"inputs.names: nothing is left to condition on once '{target}' is the target")
    options = dict(config.task.options)
    if "target" in options:
        raise ConfigError("task.options.target: set task.target instead")
    try:
        task = TextGeneration(target=target, **options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"task.options: {error}") from None
    parts = {k: _with_target(v, target, class_names) for k, v in parts.items()}
    return task, parts, names


def adapt_target(task, train):
    """Sets the task's vocabulary from the target strings of the (final, possibly limited) train split."""
    if task.decoder != "transformer":
        return task  # a pretrained decoder brings its own tokenizer
    try:
        return task.adapt(_train_targets(train))
    except ValueError as error:
        raise ConfigError(f"task.options: {error}") from None

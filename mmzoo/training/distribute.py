"""Distribution strategies by name: "auto", "one_device", "mirrored", "multi_worker", "tpu".

`get_strategy` turns a name into a `tf.distribute.Strategy` (a strategy
object passes through). `mmzoo.train(..., strategy=...)` uses it, moves the
model into the strategy's scope (`mmzoo.training.placement.place`) and reads every
dataset's batch size as the *global* batch: each batch is split across the
replicas (and, with several workers, each worker reads its own part).

- "auto": the strategy the model was built under, if any; else TPU when a
  TPU resolver finds one; else mirrored over the GPUs when there are several;
  else one device (the default strategy: the model is used as it is).
- "one_device": `OneDeviceStrategy` on the first GPU, else the CPU.
- "mirrored": `MirroredStrategy` over every GPU, or over every logical CPU
  device when there is no GPU (a test vehicle: no speed-up on CPU).
- "multi_worker": `MultiWorkerMirroredStrategy` from the `TF_CONFIG`
  environment variable. TensorFlow allows it only at program start-up, so
  call `get_strategy("multi_worker")` first thing in the script; later calls
  return the same object. `mmzoo.train` then trains with its own
  `strategy.run` loop (`mmzoo.training.distributed_fit`): `model.fit` fails under this
  strategy in Keras 3 (keras-team/keras#20585).
- "tpu": `TPUStrategy` from `TPUClusterResolver` (`TPU_NAME`, or a TPU VM's
  local TPU); without a TPU it fails at once with a `ValueError`.

Example:
    >>> get_strategy("auto").num_replicas_in_sync
    1
    >>> is_chief(get_strategy("auto"))
    True
"""

import tensorflow as tf

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")

_created = {}  # "multi_worker"/"tpu" -> the one strategy object a process may create


def get_strategy(strategy="auto", model=None):
    """A `tf.distribute.Strategy` for `strategy` (a name from `STRATEGIES`, or a strategy object).

    Args:
        strategy: "auto", "one_device", "mirrored", "multi_worker", "tpu",
            None (same as "auto") or a `tf.distribute.Strategy`.
        model: for "auto", a model built inside a strategy's scope keeps that strategy.

    Returns:
        The strategy; for "auto" on one device, TensorFlow's default strategy.

    Raises:
        ValueError: an unknown name, "tpu" without a TPU, or "multi_worker"
            asked for after TensorFlow has started (the message says what to do).
    """
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    strategy = "auto" if strategy is None else strategy
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ValueError(
            f"strategy must be one of {', '.join(repr(s) for s in STRATEGIES)} or a "
            f"tf.distribute.Strategy; received {strategy!r}."
        )
    if strategy == "auto":
        return _auto(model)
    if strategy == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if strategy == "mirrored":
        return _mirrored()
    if strategy == "multi_worker":
        return _multi_worker()
    return _tpu(required=True)


def _auto(model):
    built_under = getattr(model, "distribute_strategy", None)
    if built_under is not None and not is_default(built_under):
        return built_under  # the model was built in a strategy's scope: train it there
    if tf.distribute.has_strategy():
        return tf.distribute.get_strategy()
    tpu = _tpu(required=False)
    if tpu is not None:
        return tpu
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return _mirrored()
    return tf.distribute.get_strategy()


def _mirrored():
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([d.name for d in devices])


def _multi_worker():
    if "multi_worker" not in _created:
        try:
            _created["multi_worker"] = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as error:
            raise ValueError(
                f"strategy='multi_worker' must be created before TensorFlow runs anything ({error}). Call "
                f"mmzoo.training.distribute.get_strategy('multi_worker') first thing in the script, before loading "
                f"data or building the model; mmzoo.train(strategy='multi_worker') then uses it."
            ) from None
    return _created["multi_worker"]


def _tpu(required):
    if "tpu" in _created:
        return _created["tpu"]
    resolver_cls = tf.distribute.cluster_resolver.TPUClusterResolver
    try:
        resolver = resolver_cls()  # TPU_NAME, Colab, or the GCE metadata of a TPU node
    except ValueError as error:
        if not tf.config.list_physical_devices("TPU"):
            if required:
                raise ValueError(
                    f"strategy='tpu' found no TPU: TPUClusterResolver says '{error}' and this "
                    f"machine has no local TPU device. Set TPU_NAME to your TPU, or use "
                    f"strategy='auto'."
                ) from None
            return None
        resolver = resolver_cls(tpu="local")  # a TPU VM
    try:
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        _created["tpu"] = tf.distribute.TPUStrategy(resolver)
    except (tf.errors.OpError, ValueError, RuntimeError) as error:
        if required:
            raise ValueError(
                f"strategy='tpu': the TPU resolver answered but the TPU could not be initialised: "
                f"{str(error).splitlines()[0]}"
            ) from None
        return None
    return _created["tpu"]


def is_multi_worker(strategy):
    """True for a `MultiWorkerMirroredStrategy` (trained with mmzoo's `strategy.run` loop, not `model.fit`)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy=None):
    """True unless this process is a non-chief worker of a multi-worker strategy.

    The chief writes the run's artifacts; every worker takes part in training.

    Args:
        strategy: a strategy (None: the current one).
    """
    strategy = strategy or tf.distribute.get_strategy()
    task_type, task_id = worker_task(strategy)
    if task_type is None:
        return True
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    return task_type == "chief" or (task_type == "worker" and task_id == 0 and "chief" not in cluster)


def worker_task(strategy):
    """`(task_type, task_id)` of this process in a multi-worker cluster, `(None, None)` otherwise."""
    resolver = getattr(strategy, "cluster_resolver", None) if is_multi_worker(strategy) else None
    if resolver is None or not resolver.cluster_spec().as_dict():
        return None, None
    return resolver.task_type, resolver.task_id


def distribute_dataset(strategy, dataset):
    """`dataset` distributed over `strategy`'s replicas; its batch size is the global batch.

    Each global batch is split evenly across the replicas (the last, partial
    one as evenly as possible). With several workers each worker reads only
    its own part of every batch: sharding by data, so the examples and their
    order are those of one device and a seeded run matches single-process
    training. (Every worker reads the whole input, e.g. all TFRecord files;
    set `tf.data.Options().experimental_distribute.auto_shard_policy` to
    `FILE` on the dataset to give each worker its own files instead.)

    Example:
        >>> import tensorflow as tf
        >>> ds = tf.data.Dataset.range(8).batch(4)
        >>> [int(b.shape[0]) for b in distribute_dataset(get_strategy("auto"), ds)]
        [4, 4]
    """
    if is_default(strategy):
        return dataset
    auto = tf.data.experimental.AutoShardPolicy.AUTO
    if dataset.options().experimental_distribute.auto_shard_policy == auto:  # the user's own choice stays
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        dataset = dataset.with_options(options)
    return strategy.experimental_distribute_dataset(dataset)


def is_default(strategy):
    """True for TensorFlow's default strategy (no distribution: one device, no scope)."""
    with strategy.scope():
        return not tf.distribute.has_strategy()


def broadcast_from_chief(strategy, variables):
    """Gives every worker the chief's values of `variables` (as variable creation does in a multi-worker scope).

    Needed after values were assigned separately on each worker (a copied or
    restored model): the workers must start from identical weights.
    """
    variables = list(variables)

    @tf.function
    def chief_values(values):
        def replica_fn(values):
            context = tf.distribute.get_replica_context()
            chief = tf.equal(context.replica_id_in_sync_group, 0)
            out = list(values)
            for dtype in sorted({v.dtype.name for v in values}):  # one packed all-reduce per dtype
                group = [i for i, v in enumerate(values) if v.dtype.name == dtype]
                summed = context.all_reduce(
                    "SUM", [tf.where(chief, values[i], tf.zeros_like(values[i])) for i in group]
                )
                for i, value in zip(group, summed):
                    out[i] = value
            return out

        return strategy.run(replica_fn, args=(values,))

    results = chief_values([v.value for v in variables])
    for variable, value in zip(variables, results):
        variable.assign(strategy.experimental_local_results(value)[0])


def check_same_epoch(strategy, epoch):
    """Raises a `ValueError` unless every worker resumes at the same `epoch` (called by all of them)."""
    mine = strategy.experimental_distribute_values_from_function(lambda context: tf.constant([epoch], tf.int64))
    epochs = strategy.gather(mine, axis=0).numpy()
    highest, lowest = int(epochs.max()), int(epochs.min())
    if highest != lowest:
        raise ValueError(
            f"The workers resumed from different checkpoints (epochs {lowest} to {highest}; this "
            f"worker: {epoch}). Give every worker a complete copy of its checkpoint folder, or delete "
            f"the checkpoints to start over."
        )

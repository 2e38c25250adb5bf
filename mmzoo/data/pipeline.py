"""The tail every mmzoo input pipeline shares: cache, shuffle, batch, prefetch.

A seeded shuffle here is *epoch-seeded*: the order of a pass depends only on
`(seed, epoch)`, not on how many passes this process has already made, so a
training run resumed from a checkpoint in a new process sees the same batches
in epoch k as an uninterrupted run. `mmzoo.train` tells the dataset which
epoch it is in (`set_epoch`, or the `EpochDataOrder` callback); a plain loop
over the dataset (or plain `model.fit`) counts its own passes 0, 1, 2, ... and
reshuffles each time. The dataset hands back its order itself
(`mmzoo.data.order.data_order`); nothing reads its graph.
"""

import tensorflow as tf

from mmzoo.data.order import DataOrder, data_order, with_order

AUTOTUNE = tf.data.AUTOTUNE
_GRAPH_SEED = 87654321


def finalize(
    ds,
    batch_size=32,
    shuffle=False,
    seed=None,
    cache=False,
    drop_remainder=False,
    shuffle_buffer=None,
    num_examples=None,
):
    """Caches (optional), shuffles (each epoch, seeded), batches and prefetches `ds`.

    With `shuffle` and a `seed`, the order of each pass is a function of
    `(seed, epoch)` only (see the module docstring), which makes training
    resumable bit for bit; without a seed, it reshuffles from TensorFlow's
    per-process seed state.

    Args:
        ds: an unbatched dataset of `({name: tensor}, label)` elements.
        batch_size: examples per batch.
        shuffle: reshuffle every epoch.
        seed: shuffle seed, for reproducible order.
        cache: True caches decoded elements in memory, a string caches to that file.
        drop_remainder: drop the last partial batch.
        shuffle_buffer: buffer size; default the whole dataset when `num_examples` is known.
        num_examples: dataset size, if known.

    Returns:
        The batched, prefetched dataset, carrying its `DataOrder` (`ds`'s own order, if
        it had one, followed by this shuffle's).

    Example:
        >>> ds = finalize(tf.data.Dataset.range(6), batch_size=3, shuffle=True, seed=1)
        >>> first = [int(v) for b in ds for v in b]
        >>> second = [int(v) for b in ds for v in b]
        >>> sorted(first) == sorted(second) == list(range(6)), first != second
        (True, True)
        >>> set_epoch(ds, 0)
        True
        >>> [int(v) for b in ds for v in b] == first     # epoch 0's order, in any process
        True
    """
    before = data_order(ds)
    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    order = DataOrder("fixed")
    if shuffle:
        buffer = shuffle_buffer or min(num_examples or 10_000, 100_000)
        if seed is None:
            ds = ds.shuffle(buffer, reshuffle_each_iteration=True)
            order = DataOrder("per_process")
        else:
            ds, epoch = _epoch_seeded_shuffle(ds, buffer, seed)
            order = DataOrder("epoch_seeded", [epoch])
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE, deterministic=True)
    ds = ds.prefetch(AUTOTUNE)
    if before is not None and cache:  # a cache replays its first pass: what came before is fixed
        before = DataOrder("fixed")
    return with_order(ds, before.then(order) if before is not None else order)


def _epoch_seeded_shuffle(ds, buffer, seed):
    """`ds` shuffled with a seed drawn from `(seed, epoch)` at the start of each pass.

    `epoch` is a variable: -1 (the default) means "count passes here",
    anything else is the epoch a trainer set with `set_epoch`.
    """
    cardinality = int(ds.cardinality())
    epoch = tf.Variable(tf.constant(-1, tf.int64), trainable=False, name="mmzoo_epoch")
    passes = tf.Variable(tf.constant(0, tf.int64), trainable=False, name="mmzoo_passes")
    base = tf.constant(seed, tf.int64)

    def pass_seed(_):
        current = tf.cond(epoch >= 0, epoch.read_value, lambda: passes.assign_add(1) - 1)
        return tf.random.stateless_uniform([], seed=tf.stack([base, current]), minval=None, maxval=None, dtype=tf.int64)

    def one_pass(pass_seed_value):
        # A fixed graph-level seed: the order depends on (seed, epoch) only, not on tf.random.set_seed
        # (and TF's seed helper cannot take a tensor seed while the global seed is 0).
        tf.compat.v1.get_default_graph().seed = _GRAPH_SEED
        return ds.shuffle(buffer, seed=pass_seed_value, reshuffle_each_iteration=False)

    shuffled = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)).map(pass_seed).flat_map(one_pass)
    if cardinality >= 0:
        shuffled = shuffled.apply(tf.data.experimental.assert_cardinality(cardinality))
    return shuffled, epoch


def set_epoch(ds, epoch):
    """Tells the epoch-seeded shuffles inside `ds` which epoch comes next.

    Args:
        ds: a dataset built by mmzoo.data (see `mmzoo.data.order`).
        epoch: 0-based epoch; `None` goes back to counting passes.

    Returns:
        True if `ds` contains an epoch-seeded shuffle (its order now follows
        `epoch`), False otherwise (a dataset mmzoo did not build included).

    Example:
        >>> set_epoch(tf.data.Dataset.range(3), 2)
        False
    """
    order = data_order(ds)
    return order is not None and order.set_epoch(epoch)


def reshuffles_per_process(ds):
    """True if mmzoo built `ds` with a shuffle that reshuffles each pass from per-process state.

    Such a dataset gives a resumed training run a different order than an
    uninterrupted one, so `mmzoo.train` warns about it when checkpointing.
    A dataset mmzoo did not build is taken as it is: False.

    Example:
        >>> reshuffles_per_process(finalize(tf.data.Dataset.range(8), shuffle=True))
        True
        >>> reshuffles_per_process(finalize(tf.data.Dataset.range(8), shuffle=True, seed=1))
        False
    """
    order = data_order(ds)
    return order is not None and order.reshuffles_per_process

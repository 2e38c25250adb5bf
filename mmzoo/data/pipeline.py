"""The tail every mmzoo input pipeline shares: cache, shuffle, batch, prefetch."""

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def finalize(ds, batch_size=32, shuffle=False, seed=None, cache=False, drop_remainder=False,
             shuffle_buffer=None, num_examples=None):
    """Caches (optional), shuffles (each epoch, seeded), batches and prefetches `ds`.

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
        The batched, prefetched dataset.
    """
    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    if shuffle:
        buffer = shuffle_buffer or min(num_examples or 10_000, 100_000)
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE,
                  deterministic=True)
    return ds.prefetch(AUTOTUNE)

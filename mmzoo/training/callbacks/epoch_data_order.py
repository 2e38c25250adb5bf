"""`EpochDataOrder`: an mmzoo dataset's shuffle order follows the epoch `fit` is in, not the passes made."""

import keras

from mmzoo.data.order import data_order


class EpochDataOrder(keras.callbacks.Callback):
    """Sets the epoch of an epoch-seeded mmzoo dataset at the start of every epoch.

    A dataset from `mmzoo.data` with `shuffle=True` and a `seed` orders each
    pass by `(seed, epoch)`. Left alone it counts its own passes, so a run
    resumed in a new process at epoch k would see epoch 0's order; with this
    callback epoch k sees epoch k's order, as in `mmzoo.train`. When training
    ends the dataset counts its own passes again.

    Args:
        dataset: the training dataset, built by mmzoo.data with a seeded shuffle.

    Raises:
        ValueError: `dataset` has no epoch-seeded order (see `mmzoo.data.order`).

    Example:
        >>> import numpy as np
        >>> from mmzoo.data import from_arrays
        >>> data = from_arrays({"x": np.arange(8.0)[:, None]}, np.zeros(8), batch_size=4, shuffle=True, seed=0)
        >>> order = EpochDataOrder(data)
        >>> order.on_epoch_begin(3)     # what fit does at the start of epoch 3
        >>> order.on_train_end()        # back to counting passes
    """

    def __init__(self, dataset):
        super().__init__()
        order = data_order(dataset)
        if order is None or not order.epoch_variables:
            raise ValueError(
                f"EpochDataOrder needs a dataset shuffled by mmzoo.data with a seed "
                f"(shuffle=True, seed=...); this one has {order or 'no mmzoo order'}. Build it with "
                f"mmzoo.data, and carry the order through later transformations with "
                f"mmzoo.data.order.keep_order(new, old)."
            )
        self.order = order

    def on_epoch_begin(self, epoch, logs=None):
        self.order.set_epoch(epoch)

    def on_train_end(self, logs=None):
        self.reset()

    def reset(self):
        """The dataset counts its own passes again."""
        self.order.set_epoch(None)

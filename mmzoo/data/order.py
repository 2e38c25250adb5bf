"""The order of an mmzoo dataset's passes, handed back with the dataset instead of read from its graph.

Every dataset mmzoo.data builds carries a `DataOrder` (`data_order(ds)`):
"fixed" (every pass in the same order), "epoch_seeded" (the order of a pass
is a function of seed and epoch; `set_epoch` picks the epoch) or
"per_process" (reshuffled every pass from per-process random state, so a
resumed training run sees a different order). The order lives in the
dataset's `mmzoo_order` attribute. A transformation (`map`, `take`, ...)
returns a new dataset without it; `keep_order(new, old)` carries it over
when the transformation leaves the order alone. A dataset mmzoo did not
build (or whose order was not carried) has no `DataOrder`: mmzoo takes it
as it is and does not claim anything about its order.
"""

ORDER_ATTR = "mmzoo_order"
KINDS = ("fixed", "epoch_seeded", "per_process")


class DataOrder:
    """How the passes over a dataset built by mmzoo.data are ordered.

    Args:
        kind: "fixed", "epoch_seeded" or "per_process" (see the module docstring).
        epoch_variables: for "epoch_seeded", the int64 variables the shuffles read
            their epoch from (-1: count passes).

    Example:
        >>> order = DataOrder("fixed")
        >>> order.kind, order.reshuffles_per_process, order.set_epoch(3)
        ('fixed', False, False)
    """

    def __init__(self, kind, epoch_variables=()):
        if kind not in KINDS:
            raise ValueError(f"DataOrder kind must be one of {', '.join(KINDS)}; received {kind!r}.")
        self.kind = kind
        self.epoch_variables = tuple(epoch_variables)

    @property
    def reshuffles_per_process(self):
        """True when a pass's order comes from per-process random state (a resume cannot repeat it)."""
        return self.kind == "per_process"

    def set_epoch(self, epoch):
        """Makes the next pass use the order of `epoch` (0-based); None goes back to counting passes.

        Returns:
            True if the order follows `epoch` now (an epoch-seeded shuffle is inside), False otherwise.
        """
        for variable in self.epoch_variables:
            variable.assign(-1 if epoch is None else int(epoch))
        return bool(self.epoch_variables)

    def then(self, other):
        """The order of a pipeline that applies this order's steps, then `other`'s (None: nothing)."""
        if other is None:
            return self
        variables = self.epoch_variables + other.epoch_variables
        for kind in ("per_process", "epoch_seeded"):
            if kind in (self.kind, other.kind):
                return DataOrder(kind, variables)
        return DataOrder("fixed")

    def __repr__(self):
        return f"DataOrder({self.kind!r})"


def data_order(ds):
    """The `DataOrder` mmzoo.data attached to `ds`, or None for a dataset mmzoo did not build.

    Example:
        >>> import tensorflow as tf
        >>> data_order(tf.data.Dataset.range(3)) is None
        True
    """
    return getattr(ds, ORDER_ATTR, None)


def with_order(ds, order):
    """Attaches `order` (a `DataOrder`, or None for nothing) to `ds`; returns `ds`."""
    if order is not None:
        if not isinstance(order, DataOrder):
            raise TypeError(f"order must be a DataOrder; received {type(order).__name__}.")
        setattr(ds, ORDER_ATTR, order)
    return ds


def keep_order(new, old):
    """`new` carrying `old`'s `DataOrder`: for transformations of `old` that keep its order (map, take, prefetch).

    Example:
        >>> import tensorflow as tf
        >>> from mmzoo.data.pipeline import finalize
        >>> ds = finalize(tf.data.Dataset.range(8), batch_size=4, shuffle=True, seed=1)
        >>> data_order(ds.take(1)) is None, data_order(keep_order(ds.take(1), ds)).kind
        (True, 'epoch_seeded')
    """
    return with_order(new, data_order(old))

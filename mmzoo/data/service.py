"""Input pipelines that outgrow one host's CPUs: hand them to the tf.data service.

Decoding images and WAVs, resampling and cropping can starve an accelerator
when one host's CPUs do them all (tensorflow#41468). The tf.data service
(`tf.data.experimental.service`) runs the pipeline on a fleet of worker
processes, coordinated by a dispatcher, and streams finished batches to the
trainer. Everything an mmzoo pipeline does before the model is a Python-free
tf.data graph (decoding, resampling, padding, batching), so all of it runs on
the workers; the model's own preprocessing (log-mel spectrograms, text
vectorization, normalization) stays inside the model, on the accelerator.

Run a dispatcher and workers on other hosts with

    python -m mmzoo.data.service dispatcher --port 5050
    python -m mmzoo.data.service worker --dispatcher HOST:5050     # on each worker host

and point `distribute(ds, "grpc://HOST:5050")` at them. Workers read files
themselves: paths in a manifest must resolve on the workers too.

A shuffle with a fixed seed (`mmzoo.data.finalize(..., seed=...)`, or
`shuffle(seed=...)` / a global `tf.random.set_seed`) restarts from that seed
in every job the service runs, so every epoch would see the same order;
`distribute` warns. Shuffle with `seed=None` (each worker reshuffles every
epoch).
"""

import argparse
import warnings

import tensorflow as tf

from mmzoo.data.order import data_order

MODES = ("parallel_epochs", "distributed_epoch")
_service = tf.data.experimental.service


def _target(service):
    target = getattr(service, "target", service)
    if not isinstance(target, str) or not target:
        raise TypeError(
            f"service must be an address such as 'grpc://host:5050' or a LocalService; received {service!r}."
        )
    return target if "://" in target else f"grpc://{target}"


def _fixed_seed(part):
    """True for a shuffle whose seed is fixed: a seeded `finalize` shuffle, or `shuffle(seed=...)`."""
    order = data_order(part)
    if order is not None and order.epoch_variables:
        return True
    if type(part).__name__ != "_ShuffleDataset":
        return False
    try:
        return bool(int(part._seed) or int(part._seed2))  # both 0: seeded afresh on every pass
    except (AttributeError, TypeError, ValueError):
        return False


def _has_seeded_shuffle(dataset):
    stack, seen = [dataset], set()
    while stack:
        part = stack.pop()
        if id(part) in seen:
            continue
        seen.add(id(part))
        if _fixed_seed(part):
            return True
        try:
            stack.extend(part._inputs())
        except (AttributeError, NotImplementedError, TypeError):
            pass
    return False


def distribute(dataset, service="grpc://localhost:5050", processing_mode="parallel_epochs", job_name=None, **options):
    """Runs `dataset`'s pipeline on tf.data service workers; returns the dataset the trainer reads.

    Args:
        dataset: a `tf.data.Dataset` (usually batched, e.g. from `mmzoo.data.from_csv`).
        service: the dispatcher address ("grpc://host:port" or "host:port"),
            or a `LocalService`.
        processing_mode: "parallel_epochs": every worker produces the whole
            dataset (with N workers an epoch holds each example N times; fine
            for shuffled training data), or "distributed_epoch": the workers
            split the dataset, each example arrives exactly once per epoch
            (for evaluation, or to see every example once).
        job_name: share one job (and its work) between several trainers that
            pass the same name; None gives each iteration its own job.
        **options: passed on to `tf.data.experimental.service.distribute`
            (`consumer_index`, `num_consumers`, `compression`, ...).

    Returns:
        A dataset with the same elements as `dataset`, produced by the workers.
        Its cardinality is unknown: Keras counts the steps in the first epoch
        (and warns "Your input ran out of data" when it ends; harmless).

    Example:
        >>> import numpy as np
        >>> from mmzoo.data.arrays import from_arrays
        >>> with start_local_service() as service:
        ...     ds = distribute(from_arrays({"x": np.arange(6.0)[:, None]}, np.arange(6), batch_size=3),
        ...                     service, processing_mode="distributed_epoch")
        ...     sorted(int(y) for _, batch in ds for y in batch)
        [0, 1, 2, 3, 4, 5]
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(f"distribute: expected a tf.data.Dataset; received {type(dataset).__name__}.")
    if processing_mode not in MODES and not isinstance(processing_mode, _service.ShardingPolicy):
        raise ValueError(
            f"distribute: processing_mode must be one of {MODES} (or a "
            f"tf.data.experimental.service.ShardingPolicy); received {processing_mode!r}."
        )
    if _has_seeded_shuffle(dataset):
        warnings.warn(
            "distribute: the dataset has a seeded shuffle; the tf.data service starts every epoch "
            "from that seed, so every epoch sees the same order. Build it with shuffle=True, "
            "seed=None (and no tf.random.set_seed) to reshuffle on the workers each epoch.",
            stacklevel=2,
        )
    return dataset.apply(
        _service.distribute(processing_mode=processing_mode, service=_target(service), job_name=job_name, **options)
    )


class LocalService:
    """A tf.data service dispatcher and workers inside this process, for tests and notebooks.

    Args:
        num_workers: worker servers to start.
        port: dispatcher port; 0 picks a free one.

    Attributes:
        target: the dispatcher address to give `distribute`.
        dispatcher: the `tf.data.experimental.service.DispatchServer`.
        workers: the `WorkerServer`s.

    Example:
        >>> with LocalService(num_workers=2) as service:
        ...     service.target.startswith("grpc://localhost:"), len(service.workers)
        (True, 2)
    """

    def __init__(self, num_workers=1, port=0):
        if not isinstance(num_workers, int) or num_workers < 1:
            raise ValueError(f"LocalService: num_workers must be a positive int; received {num_workers!r}.")
        self.dispatcher = _service.DispatchServer(_service.DispatcherConfig(port=port))
        self.workers = []
        try:
            for _ in range(num_workers):
                self.workers.append(_service.WorkerServer(_service.WorkerConfig(dispatcher_address=self.address)))
        except Exception:
            self.stop()
            raise

    @property
    def target(self):
        return self.dispatcher.target

    @property
    def address(self):
        """`host:port` of the dispatcher (what `WorkerConfig(dispatcher_address=...)` takes)."""
        return self.target.split("://", 1)[1]

    def stop(self):
        """Stops the workers, then the dispatcher (idempotent)."""
        for worker in self.workers:
            worker.stop()
        self.workers = []
        if self.dispatcher is not None:
            self.dispatcher.stop()
            self.dispatcher = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = self.target if self.dispatcher is not None else "stopped"
        return f"LocalService({state}, workers={len(self.workers)})"


def start_local_service(num_workers=1, port=0):
    """Starts a dispatcher and `num_workers` workers in this process; returns the `LocalService`.

    Example:
        >>> service = start_local_service()
        >>> service.target.startswith("grpc://")
        True
        >>> service.stop()
    """
    return LocalService(num_workers=num_workers, port=port)


def main(argv=None):
    """`python -m mmzoo.data.service dispatcher|worker ...`: serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m mmzoo.data.service", description=main.__doc__)
    roles = parser.add_subparsers(dest="role", required=True)
    dispatcher = roles.add_parser("dispatcher", help="run the dispatcher")
    dispatcher.add_argument("--port", type=int, default=5050)
    worker = roles.add_parser("worker", help="run a worker")
    worker.add_argument("--dispatcher", required=True, help="dispatcher host:port")
    worker.add_argument("--port", type=int, default=0, help="worker port (0: any free port)")
    args = parser.parse_args(argv)
    if args.role == "dispatcher":
        server = _service.DispatchServer(_service.DispatcherConfig(port=args.port))
        print(f"mmzoo tf.data service dispatcher at {server.target}", flush=True)
    else:
        address = args.dispatcher.split("://", 1)[-1]
        server = _service.WorkerServer(_service.WorkerConfig(dispatcher_address=address, port=args.port))
        print(f"mmzoo tf.data service worker serving dispatcher {address}", flush=True)
    server.join()


if __name__ == "__main__":
    main()

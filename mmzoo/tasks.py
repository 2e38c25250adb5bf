"""Tasks: a head plus its loss and metrics."""

import dataclasses

import keras

from mmzoo.metrics import F1Score


@dataclasses.dataclass
class Task:
    """Base class: builds the output layer and compiles a model for the task."""

    kind = "task"
    output_name = "output"
    activation = "linear"

    @property
    def output_units(self):
        raise NotImplementedError

    def logits(self, x, name="head_logits"):
        """The pre-activation output layer (per-modality heads of late fusion use it too)."""
        return keras.layers.Dense(self.output_units, name=name)(x)

    def activate(self, logits):
        """The output activation, computed in float32 and named `output_name`."""
        return keras.layers.Activation(self.activation, dtype="float32", name=self.output_name)(logits)

    def head(self, x):
        """Output layer on top of features `x`: logits then the float32 activation."""
        return self.activate(self.logits(x))

    def loss(self):
        raise NotImplementedError

    def metrics(self):
        raise NotImplementedError

    def compile(self, model, optimizer=None, learning_rate=1e-3, **kwargs):
        """Compiles `model` with this task's loss and metrics (Adam by default)."""
        model.compile(
            optimizer=optimizer or keras.optimizers.Adam(learning_rate),
            loss=self.loss(),
            metrics=self.metrics(),
            **kwargs,
        )
        return model

    def get_config(self):
        config = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"kind": self.kind, **config}


@dataclasses.dataclass
class Classification(Task):
    """Single-label classification over `num_classes` classes (2 = binary).

    The head is a softmax over the classes, computed in float32; labels are
    integer class ids. Metrics: accuracy and F1 (class-1 F1 when binary,
    macro F1 otherwise).

    Args:
        num_classes: number of classes (>= 2).
        class_names: optional names, shown by `predict` and in plots.

    Example:
        >>> task = Classification(num_classes=10)
        >>> [m.name for m in task.metrics()]
        ['accuracy', 'f1']
    """

    num_classes: int = 2
    class_names: list = None

    kind = "classification"
    output_name = "probabilities"
    activation = "softmax"

    @property
    def output_units(self):
        return self.num_classes

    def __post_init__(self):
        if not isinstance(self.num_classes, int) or self.num_classes < 2:
            raise ValueError(f"Classification needs num_classes >= 2; received {self.num_classes!r}.")
        if self.class_names is not None:
            self.class_names = [str(c) for c in self.class_names]
            if len(self.class_names) != self.num_classes:
                raise ValueError(
                    f"Classification has num_classes={self.num_classes} but "
                    f"{len(self.class_names)} class_names."
                )

    def loss(self):
        return keras.losses.SparseCategoricalCrossentropy()

    def metrics(self):
        return [
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            F1Score(num_classes=self.num_classes, name="f1"),
        ]


@dataclasses.dataclass
class Regression(Task):
    """Regression of `units` real-valued targets with a linear float32 head.

    Loss: mean squared error. Metrics: MAE and MSE.

    Example:
        >>> [m.name for m in Regression(units=1).metrics()]
        ['mae', 'mse']
    """

    units: int = 1

    kind = "regression"
    output_name = "prediction"

    @property
    def output_units(self):
        return self.units

    def loss(self):
        return keras.losses.MeanSquaredError()

    def metrics(self):
        return [keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.MeanSquaredError(name="mse")]


TASK_TYPES = {cls.kind: cls for cls in (Classification, Regression)}


def task_from_config(config):
    """Rebuilds a task from `Task.get_config()` output."""
    config = dict(config)
    kind = config.pop("kind", None)
    if kind not in TASK_TYPES:
        raise ValueError(f"Unknown task kind {kind!r}; known: {', '.join(sorted(TASK_TYPES))}.")
    return TASK_TYPES[kind](**config)

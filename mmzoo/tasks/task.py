"""Tasks: a head plus its loss and metrics."""

import dataclasses

import keras
from keras import ops

from mmzoo.registry import TASKS, register_task
from mmzoo.tasks.losses import SparseCategoricalFocalCrossentropy
from mmzoo.tasks.metrics import CLASS_SCORES, ClassScore, F1Score, MultiLabelF1, PearsonCorrelation, RecallAtK


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

    def default_targets(self, y_pred):
        """Targets to use when a dataset yields none (self-supervised tasks); None otherwise."""
        return None

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
@register_task("classification")
class Classification(Task):
    """Single-label classification over `num_classes` classes (2 = binary).

    The head is a softmax over the classes, computed in float32; labels are
    integer class ids. Loss: cross-entropy, or the focal loss (Lin et al.
    2017, "Focal Loss for Dense Object Detection") with `focal_gamma`, which
    down-weights well-classified examples (useful with imbalanced classes).
    Metrics: accuracy and F1 (class-1 F1 when binary, macro F1 otherwise),
    plus the opt-in `extra_metrics`.

    Args:
        num_classes: number of classes (>= 2).
        class_names: optional names, shown by `predict` and in plots.
        focal_gamma: None for cross-entropy; a number γ >= 0 for the focal
            loss `-alpha (1 - p)^γ log p` (Keras's `categorical_focal_crossentropy`).
        focal_alpha: the focal loss's weighting factor.
        extra_metrics: more metrics for the training history, from
            "macro_precision", "macro_recall", "weighted_precision",
            "weighted_recall" and "weighted_f1" (averages over all classes).

    Example:
        >>> task = Classification(num_classes=10, focal_gamma=2.0, extra_metrics=["macro_recall"])
        >>> [m.name for m in task.metrics()], task.loss().name
        (['accuracy', 'f1', 'macro_recall'], 'sparse_categorical_focal_crossentropy')
    """

    num_classes: int = 2
    class_names: list = None
    focal_gamma: float = None
    focal_alpha: float = 0.25
    extra_metrics: list = dataclasses.field(default_factory=list)

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
                    f"Classification has num_classes={self.num_classes} but {len(self.class_names)} class_names."
                )
        if self.focal_gamma is not None:
            if not isinstance(self.focal_gamma, (int, float)) or self.focal_gamma < 0:
                raise ValueError(
                    f"Classification focal_gamma must be None (cross-entropy) or a number >= 0; "
                    f"received {self.focal_gamma!r}."
                )
            self.focal_gamma = float(self.focal_gamma)
        self.focal_alpha = float(self.focal_alpha)
        self.extra_metrics = list(self.extra_metrics or [])
        unknown = [m for m in self.extra_metrics if m not in CLASS_SCORES]
        if unknown:
            raise ValueError(f"Classification extra_metrics {unknown} unknown; choose from {', '.join(CLASS_SCORES)}.")

    def loss(self):
        if self.focal_gamma is None:
            return keras.losses.SparseCategoricalCrossentropy()
        return SparseCategoricalFocalCrossentropy(alpha=self.focal_alpha, gamma=self.focal_gamma)

    def metrics(self):
        return [
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            F1Score(num_classes=self.num_classes, name="f1"),
            *[ClassScore(self.num_classes, name) for name in self.extra_metrics],
        ]


@dataclasses.dataclass
@register_task("regression")
class Regression(Task):
    """Regression of `units` real-valued targets with a linear float32 head.

    Loss: mean squared error. Metrics: MAE, MSE and Pearson correlation.

    Example:
        >>> [m.name for m in Regression(units=1).metrics()]
        ['mae', 'mse', 'corr']
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
        return [
            keras.metrics.MeanAbsoluteError(name="mae"),
            keras.metrics.MeanSquaredError(name="mse"),
            PearsonCorrelation(name="corr"),
        ]


@dataclasses.dataclass
@register_task("multilabel")
class MultiLabel(Task):
    """Multi-label classification: an independent sigmoid per label.

    Labels are multi-hot vectors `(batch, num_labels)`. A label is predicted
    when its probability reaches its threshold (one float, or one per
    label). Metrics: binary accuracy, micro F1 and macro F1.

    Args:
        num_labels: number of labels.
        threshold: decision threshold, a float or a list with one per label.
        label_names: optional names.
        focal_gamma: None for binary cross-entropy; a number γ >= 0 for
            Keras's `BinaryFocalCrossentropy(gamma=γ)`.

    Example:
        >>> [m.name for m in MultiLabel(num_labels=4, threshold=[.5, .5, .3, .7]).metrics()]
        ['accuracy', 'micro_f1', 'macro_f1']
    """

    num_labels: int = 2
    threshold: object = 0.5
    label_names: list = None
    focal_gamma: float = None

    kind = "multilabel"
    output_name = "probabilities"
    activation = "sigmoid"

    def __post_init__(self):
        if not isinstance(self.num_labels, int) or self.num_labels < 1:
            raise ValueError(f"MultiLabel needs num_labels >= 1; received {self.num_labels!r}.")
        if isinstance(self.threshold, (list, tuple)):
            self.threshold = [float(t) for t in self.threshold]
            if len(self.threshold) != self.num_labels:
                raise ValueError(f"MultiLabel has num_labels={self.num_labels} but {len(self.threshold)} thresholds.")
        else:
            self.threshold = float(self.threshold)

    @property
    def output_units(self):
        return self.num_labels

    def loss(self):
        if self.focal_gamma is None:
            return keras.losses.BinaryCrossentropy()
        return keras.losses.BinaryFocalCrossentropy(gamma=float(self.focal_gamma))

    def metrics(self):
        threshold = self.threshold if isinstance(self.threshold, float) else 0.5
        return [
            keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold),
            MultiLabelF1(self.num_labels, average="micro", threshold=self.threshold),
            MultiLabelF1(self.num_labels, average="macro", threshold=self.threshold),
        ]


@keras.saving.register_keras_serializable(package="mmzoo")
class ContrastiveLoss(keras.losses.Loss):
    """Symmetric InfoNCE over a `(batch, batch)` similarity matrix (Radford et al. 2021, CLIP).

    Cross-entropy of each row against its target column and of each column
    against its target row, averaged. Targets are the matching indices
    (`arange(batch)` for paired data).
    """

    def __init__(self, name="contrastive", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        target = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        rows = keras.losses.sparse_categorical_crossentropy(target, logits, from_logits=True)
        cols = keras.losses.sparse_categorical_crossentropy(target, ops.transpose(logits), from_logits=True)
        return (rows + cols) / 2.0


@keras.saving.register_keras_serializable(package="mmzoo")
class SigmoidLoss(keras.losses.Loss):
    """Pairwise sigmoid loss over a `(batch, batch)` logit matrix (Zhai et al. 2023, SigLIP).

    Every pair is a binary question, "do these match?": label +1 for row
    `i`'s target column, -1 for every other column, loss
    `-log sigmoid(label * logit)` summed over the columns of a row and
    averaged over the rows (SigLIP's `-1/|B| sum_i sum_j`). The logits carry
    a learned bias (`ContrastiveLogits(initial_bias=...)`); no softmax
    normalizes over the batch.
    """

    def __init__(self, name="sigmoid_contrastive", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        target = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        labels = 2.0 * ops.one_hot(target, ops.shape(logits)[-1], dtype="float32") - 1.0
        return -ops.sum(ops.log_sigmoid(labels * logits), axis=-1)


RETRIEVAL_LOSSES = {"softmax": ContrastiveLoss, "sigmoid": SigmoidLoss}


@dataclasses.dataclass
@register_task("retrieval")
class Retrieval(Task):
    """Cross-modal retrieval with a dual encoder (CLIP; Radford et al. 2021).

    The model outputs the `(batch, batch)` matrix of temperature-scaled
    cosine similarities between the two modalities' embeddings; the loss is
    the symmetric contrastive loss with the matching pairs on the diagonal
    (CLIP's softmax), or SigLIP's pairwise sigmoid loss (Zhai et al. 2023),
    so datasets need no labels. Metrics: recall@k for each k in `recall_at`.

    Args:
        embedding_dim: size of the shared embedding space.
        recall_at: the k of the recall@k metrics.
        loss_type: "softmax" (`ContrastiveLoss`), "sigmoid" (`SigmoidLoss`),
            or None: the architecture's choice (the clip architecture's
            `loss=`: sigmoid for SigLIP towers, softmax otherwise); the
            built model's task records the loss it trains with.

    Example:
        >>> [m.name for m in Retrieval().metrics()]
        ['recall@1', 'recall@5', 'recall@10']
    """

    embedding_dim: int = 128
    recall_at: tuple = (1, 5, 10)
    loss_type: str = None

    kind = "retrieval"
    output_name = "similarity"

    def __post_init__(self):
        self.recall_at = [int(k) for k in self.recall_at]
        if self.loss_type is not None and self.loss_type not in RETRIEVAL_LOSSES:
            raise ValueError(
                f"Retrieval(loss_type={self.loss_type!r}): pass one of {', '.join(RETRIEVAL_LOSSES)}, or None."
            )

    @property
    def output_units(self):
        return self.embedding_dim

    def head(self, x):
        raise ValueError("Retrieval is a dual-encoder task: build it with mmzoo.build_model('clip', ...).")

    def loss(self):
        return RETRIEVAL_LOSSES[self.loss_type or "softmax"]()

    def metrics(self):
        return [RecallAtK(k) for k in self.recall_at]

    def default_targets(self, y_pred):
        return ops.arange(ops.shape(y_pred)[0])


def task_from_config(config):
    """Rebuilds a task from `Task.get_config()` output."""
    config = dict(config)
    return TASKS.get(config.pop("kind", None))(**config)

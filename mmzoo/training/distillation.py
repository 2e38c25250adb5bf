"""`mmzoo.distill`: knowledge distillation, a trained teacher model teaching a student.

Hinton, Vinyals and Dean 2015, "Distilling the Knowledge in a Neural Network".
The student learns from the labels and from the teacher's softened
probabilities; the teacher may be a large fusion model and the student a small
one, or a unimodal student that reads one of the multimodal teacher's inputs.
"""

import keras
from keras import ops

from mmzoo.training.trainer import train


def distillation_loss(teacher_probabilities, student_probabilities, temperature=4.0):
    """Per-example `T^2 * KL(softmax(t / T) || softmax(s / T))` from two models' probabilities.

    mmzoo classification models output probabilities, so the logits are
    recovered as log-probabilities (clipped at Keras's epsilon): softmax is
    shift-invariant, so `log p` serves as the logits. The `T^2` factor keeps
    the gradients' scale independent of `T` (Hinton et al. 2015).

    Args:
        teacher_probabilities: `(batch, classes)` probabilities of the teacher.
        student_probabilities: `(batch, classes)` probabilities of the student.
        temperature: the softening temperature `T > 0`.

    Returns:
        A `(batch,)` tensor.

    Example:
        >>> import numpy as np
        >>> p = np.array([[0.7, 0.2, 0.1]], "float32")
        >>> float(distillation_loss(p, p)[0])
        0.0
    """
    epsilon = keras.config.epsilon()
    teacher_logits = ops.log(ops.clip(ops.cast(teacher_probabilities, "float32"), epsilon, 1.0))
    student_logits = ops.log(ops.clip(ops.cast(student_probabilities, "float32"), epsilon, 1.0))
    teacher_log_soft = ops.log_softmax(teacher_logits / temperature, axis=-1)
    student_log_soft = ops.log_softmax(student_logits / temperature, axis=-1)
    kl = ops.sum(ops.exp(teacher_log_soft) * (teacher_log_soft - student_log_soft), axis=-1)
    return temperature**2 * kl


@keras.saving.register_keras_serializable(package="mmzoo")
class Distiller(keras.Model):
    """Trains `student` on `alpha * hard loss + (1 - alpha) * distillation_loss` against a frozen `teacher`.

    `call` is the student's call on its own inputs (picked from the input dict
    by name), so predictions and metrics are the student's. The hard loss is
    the student's compiled loss (plus its regularization losses); the wrapper
    is compiled with the student's optimizer object and fresh copies of its
    metrics, so the student keeps its own compile state.

    Args:
        teacher: a trained classification model (frozen while distilling).
        student: a compiled classification model with the same classes.
        temperature: the softening temperature `T > 0`.
        alpha: the hard-label loss's weight in [0, 1].
    """

    def __init__(self, teacher, student, temperature=4.0, alpha=0.5, **kwargs):
        super().__init__(**kwargs)
        self.teacher = teacher
        self.student = student
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.teacher.trainable = False

    def call(self, inputs, training=False):
        return self.student(_pick(inputs, self.student), training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        hard = super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        if self.alpha == 1.0:
            return hard
        soft = distillation_loss(self.teacher(_pick(x, self.teacher), training=False), y_pred, self.temperature)
        if sample_weight is not None:
            soft = soft * ops.reshape(ops.cast(sample_weight, soft.dtype), ops.shape(soft))
        return self.alpha * hard + (1.0 - self.alpha) * ops.mean(soft)

    def compile_like(self, student):
        """Compiles with `student`'s optimizer (the same object) and loss, and new copies of its metrics."""
        config = student.get_compile_config()
        metrics = {k: keras.saving.deserialize_keras_object(config.get(k)) for k in ("metrics", "weighted_metrics")}
        self.compile(optimizer=student.optimizer, loss=student.loss, loss_weights=config.get("loss_weights"), **metrics)

    def get_config(self):
        return {
            **super().get_config(),
            "teacher": keras.saving.serialize_keras_object(self.teacher),
            "student": keras.saving.serialize_keras_object(self.student),
            "temperature": self.temperature,
            "alpha": self.alpha,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        teacher = keras.saving.deserialize_keras_object(config.pop("teacher"))
        student = keras.saving.deserialize_keras_object(config.pop("student"))
        return cls(teacher, student, **config)


def distill(
    teacher,
    student,
    data,
    validation_data=None,
    epochs=10,
    temperature=4.0,
    alpha=0.5,
    seed=None,
    verbose="auto",
    **train_options,
):
    """Trains `student` from the labels and from `teacher`'s softened probabilities (Hinton et al. 2015).

    The loss is `alpha * hard + (1 - alpha) * T^2 * KL(softmax(t/T) || softmax(s/T))`,
    where `hard` is the student's compiled loss and `t`, `s` are the teacher's
    and the student's log-probabilities (see `distillation_loss`). Each model
    reads its own inputs from the data's feature dict, by name, so a unimodal
    student can learn from a multimodal teacher. Training runs through
    `mmzoo.train` (NaN stop, early stopping, determinism with `seed`); the
    teacher is frozen and only the student's weights and optimizer change, so
    afterwards the student is a plain model that saves and loads as before.
    The history's `loss`/`val_loss` are the distillation loss; its metrics
    are the student's.

    Args:
        teacher: a trained classification model (softmax probabilities out).
        student: a compiled classification model over the same classes.
        data: a dataset of `({name: x}, label)` batches holding every input of both models.
        validation_data: optional dataset of the same form.
        epochs: epochs to train.
        temperature: the softening temperature `T > 0`.
        alpha: weight of the hard-label loss in [0, 1]; 1 is plain training.
        seed: seeds the run and turns on op determinism (see `mmzoo.train`).
        verbose: passed to `fit`.
        **train_options: more arguments of `mmzoo.train` (`callbacks`, `early_stopping_patience`, ...).

    Returns:
        The Keras `History`.

    Raises:
        ValueError: a model's input is missing from the data, a model is not a
            classification model, the class counts differ, the student is not
            compiled, or `temperature`/`alpha` are out of range.

    Example:
        >>> import mmzoo
        >>> from mmzoo.data.synthetic import make_xor
        >>> x, y, inputs = make_xor(64, ("image", "features"), seed=0)
        >>> data = mmzoo.data.from_arrays(x, y, inputs=inputs, batch_size=32)
        >>> teacher = mmzoo.build_model("early_fusion", inputs, mmzoo.Classification(2))
        >>> student = mmzoo.build_model("early_fusion", inputs[1:], mmzoo.Classification(2))
        >>> history = distill(teacher, student, data, epochs=1, verbose=0)
        >>> sorted(history.history)
        ['accuracy', 'f1', 'loss']
    """
    _check(teacher, student, data, temperature, alpha)
    trainable = teacher.trainable
    distiller = Distiller(teacher, student, temperature=temperature, alpha=alpha, name=f"{student.name}_distiller")
    distiller.compile_like(student)
    try:
        return train(distiller, data, validation_data, epochs=epochs, seed=seed, verbose=verbose, **train_options)
    finally:
        teacher.trainable = trainable  # frozen only while distilling


def _pick(inputs, model):
    """The entries of the feature dict `inputs` that `model` reads, by input name."""
    if not isinstance(inputs, dict):
        return inputs
    names = _input_names(model)
    if len(names) == 1 and not isinstance(getattr(model, "_inputs_struct", None), dict):
        return inputs[names[0]]
    return {name: inputs[name] for name in names}


def _input_names(model):
    return [tensor.name for tensor in model.inputs]


def _check(teacher, student, data, temperature, alpha):
    """Raises a ValueError naming what does not fit (see `distill`)."""
    if not temperature > 0:
        raise ValueError(f"distill temperature must be > 0; received {temperature!r}.")
    if not 0 <= alpha <= 1:
        raise ValueError(f"distill alpha must be in [0, 1]; received {alpha!r}.")
    if not getattr(student, "compiled", False):
        raise ValueError(
            f"Student '{student.name}' must be compiled (its loss is the hard-label loss); "
            f"build it with mmzoo.build_model or call model.compile first."
        )
    classes = {}
    for role, model in (("teacher", teacher), ("student", student)):
        task = (getattr(model, "task_config", None) or {}).get("kind", "classification")
        if task != "classification":
            raise ValueError(
                f"distill needs classification models; the {role} '{model.name}' has a {task!r} task. "
                f"Distillation matches softmax probabilities over classes."
            )
        classes[role] = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    if classes["teacher"] != classes["student"]:
        raise ValueError(
            f"The teacher '{teacher.name}' predicts {classes['teacher']} classes but the student "
            f"'{student.name}' {classes['student']}; build the student with the teacher's task."
        )
    spec = getattr(data, "element_spec", None)  # a tf.data dataset; other data is checked by Keras
    features = spec[0] if isinstance(spec, tuple) else spec
    available = sorted(features) if isinstance(features, dict) else None
    for role, model in (("student", student), ("teacher", teacher)):
        missing = [name for name in _input_names(model) if available is not None and name not in available]
        if missing:
            raise ValueError(
                f"The {role} '{model.name}' reads input {missing[0]!r}, which the data does not hold "
                f"(it holds {available}). Pass a dataset whose feature dict has every input of both models."
            )

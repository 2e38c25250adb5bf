"""SplitOptimizer: one optimizer for a model's encoder variables, another for the rest."""

import re

import keras

__all__ = ["SplitOptimizer"]

# A weight made without a name gets Keras's session-wide "variable_<n>" (KerasHub's SigLIP pooling probe):
# its number differs between the process that saved a model and the one that loads it.
UNNAMED = re.compile(r"/variable(_\d+)?$")


def _stable(path):
    return UNNAMED.sub("/variable", path)


@keras.saving.register_keras_serializable(package="mmzoo")
class SplitOptimizer(keras.optimizers.Optimizer):
    """Two optimizers in one: `encoder_optimizer` updates the encoders' variables, `optimizer` the rest.

    This is how `mmzoo.training.transfer.fine_tune` gives pretrained encoders a lower learning rate.
    Each group gets a complete optimizer with its own learning rate and state
    (e.g. two Adams), which is what a per-group learning rate means. Scaling
    the encoders' gradients instead would not: Adam's update is invariant to
    the gradient's scale, so it would train them at the full rate. The
    groups are positions in the model's `trainable_variables`; they, the
    paths of the encoder variables and both optimizers are in `get_config`,
    so a saved `.keras` model reloads compiled with the same split and state.

    `learning_rate` reads the head optimizer's; setting it (e.g.
    `ReduceLROnPlateau`) sets the head's and scales the encoders' by the same
    factor, keeping their ratio.

    Args:
        optimizer: optimizer (or its serialized config) for the non-encoder variables.
        encoder_optimizer: optimizer (or config) for the encoder variables.
        encoder_variables: indices of the encoder variables in the model's
            `trainable_variables`.
        num_variables: length of the model's `trainable_variables`.
        encoder_paths: the `path` of each encoder variable (checked when built).
        name: optimizer name.

    Example:
        >>> import keras
        >>> x = keras.Input((3,))
        >>> model = keras.Model(x, keras.layers.Dense(1, name="head")(keras.layers.Dense(4, name="enc")(x)))
        >>> split = SplitOptimizer.for_model(model, [model.get_layer("enc")],
        ...     keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-4))
        >>> split.encoder_paths
        ['enc/kernel', 'enc/bias']
    """

    def __init__(
        self, optimizer, encoder_optimizer, encoder_variables, num_variables, encoder_paths=None, name="split_optimizer"
    ):
        super().__init__(learning_rate=0.0, name=name)
        deserialize = keras.saving.deserialize_keras_object
        self.optimizer = optimizer if isinstance(optimizer, keras.optimizers.Optimizer) else deserialize(optimizer)
        self.encoder_optimizer = (
            encoder_optimizer
            if isinstance(encoder_optimizer, keras.optimizers.Optimizer)
            else deserialize(encoder_optimizer)
        )
        self.encoder_variables = [int(i) for i in encoder_variables]
        self.num_variables = int(num_variables)
        self.encoder_paths = None if encoder_paths is None else [str(p) for p in encoder_paths]

    @classmethod
    def for_model(cls, model, encoder_layers, optimizer, encoder_optimizer, **kwargs):
        """The split of `model.trainable_variables` into the `encoder_layers`' variables and the rest."""
        mine = {id(v) for layer in encoder_layers for v in layer.trainable_variables}
        variables = model.trainable_variables
        indices = [i for i, v in enumerate(variables) if id(v) in mine]
        return cls(
            optimizer, encoder_optimizer, indices, len(variables), [variables[i].path for i in indices], **kwargs
        )

    def build(self, var_list):
        var_list = list(var_list)
        if len(var_list) != self.num_variables:
            raise ValueError(
                f"SplitOptimizer '{self.name}' was made for a model with {self.num_variables} "
                f"trainable variables; received {len(var_list)}. Trainable layers changed since: "
                f"compile again with a new SplitOptimizer (mmzoo.fine_tune does)."
            )
        for i, path in zip(self.encoder_variables, self.encoder_paths or ()):
            if _stable(var_list[i].path) != _stable(path):
                raise ValueError(
                    f"SplitOptimizer '{self.name}': trainable variable {i} should be the encoder "
                    f"variable '{path}'; received '{var_list[i].path}'. Compile again with a new "
                    f"SplitOptimizer (mmzoo.fine_tune does)."
                )
        encoder = set(self.encoder_variables)
        self.optimizer.build([v for i, v in enumerate(var_list) if i not in encoder])
        self.encoder_optimizer.build([v for i, v in enumerate(var_list) if i in encoder])
        super().build(var_list)

    @property
    def variables(self):
        return self._variables + self.optimizer.variables + self.encoder_optimizer.variables

    def _split(self, values, variables):
        encoder = set(self.encoder_variables)
        groups = ([], [], [], [])
        for value, variable in zip(values, variables):
            offset = 2 if self._get_variable_index(variable) in encoder else 0
            groups[offset].append(value)
            groups[offset + 1].append(variable)
        return groups

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            with keras.name_scope(self.name, caller=self):
                self.build(trainable_variables)
            self.built = True
        head_grads, head_vars, encoder_grads, encoder_vars = self._split(grads, trainable_variables)
        self.optimizer.apply(head_grads, head_vars)
        self.encoder_optimizer.apply(encoder_grads, encoder_vars)
        self._iterations.assign_add(1)

    def finalize_variable_values(self, var_list):
        _, head_vars, _, encoder_vars = self._split(var_list, var_list)
        self.optimizer.finalize_variable_values(head_vars)
        self.encoder_optimizer.finalize_variable_values(encoder_vars)

    @property
    def learning_rate(self):
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        old = float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))
        encoder = float(keras.ops.convert_to_numpy(self.encoder_optimizer.learning_rate))
        self.optimizer.learning_rate = value
        if old > 0 and not callable(value):
            self.encoder_optimizer.learning_rate = float(value) * encoder / old

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            "name": self.name,
            "optimizer": serialize(self.optimizer),
            "encoder_optimizer": serialize(self.encoder_optimizer),
            "encoder_variables": list(self.encoder_variables),
            "num_variables": self.num_variables,
            "encoder_paths": None if self.encoder_paths is None else list(self.encoder_paths),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)

"""The input-spec base class shared by Text, Image, Audio and Features."""

import dataclasses

import keras


@dataclasses.dataclass
class Spec:
    """One named model input: its raw shape and dtype and its in-graph preprocessing.

    Subclasses set `modality`, `default_encoder`, and implement `shape`,
    `dtype` and `preprocess`. Every spec takes `augment=`: augmentations
    applied in training only (`mmzoo.list_augmentations(modality)`; see
    docs/augmentation.md), e.g. `augment={"flip": "horizontal", "rotation": 0.05}`. The spec name is the `keras.Input` name and the
    key in dataset dicts.
    """

    name: str
    # training-only augmentations (mmzoo.augmentation): keyword-only, so positional spec arguments keep their places
    augment: object = dataclasses.field(default=None, kw_only=True)

    modality = "generic"
    default_encoder = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(
                f"{type(self).__name__} input name must be a Python identifier "
                f"(it becomes a keras.Input name and a dataset key); received {self.name!r}."
            )
        from mmzoo.augmentation.plan import normalize

        self.augment = normalize(self.augment, f"{self.modality.capitalize()} input '{self.name}'", self.modality)

    # --- what the model receives -------------------------------------------------
    @property
    def shape(self):
        """Per-sample input shape (no batch dimension)."""
        raise NotImplementedError

    @property
    def dtype(self):
        raise NotImplementedError

    def describe(self):
        """Human description of the expected input, for error messages."""
        dims = ", ".join(["batch"] + [str(d) for d in self.shape])
        return f"{self.dtype} values of shape ({dims})"

    def input(self):
        """The `keras.Input` for this spec."""
        return keras.Input(shape=self.shape, dtype=self.dtype, name=self.name)

    def preprocess(self, x):
        """Applies the in-graph preprocessing to the input tensor `x`."""
        return x

    def check_ready(self):
        """Raises if the spec needs adapting before a model can be built."""

    def adapt(self, data):
        """Fits preprocessing state (vocabulary, statistics) on `data`; no-op by default."""

    @property
    def needs_adapt(self):
        return False

    # --- serialization --------------------------------------------------------
    def get_config(self):
        config = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key, value in config.items():
            if isinstance(value, tuple):
                config[key] = list(value)
        return {"modality": self.modality, **config}

    def encoder_kwargs(self):
        """Arguments an encoder needs from this spec (e.g. vocabulary size)."""
        return {}


def spec_from_config(config):
    """Rebuilds a spec from `Spec.get_config()` output."""
    from mmzoo.registry import SPECS

    config = dict(config)
    return SPECS.get(config.pop("modality", None))(**config)

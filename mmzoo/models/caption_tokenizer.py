"""CaptionTokenizer: target strings to word ids and back, inside the graph.

A text-generation model reads its raw target strings (captions, transcripts,
answers) and tokenizes them in its own graph, so training data and exported
models need no Python tokenizer. Words are split on whitespace after a
standardization like `keras.layers.TextVectorization`'s; ids 0-3 are
reserved: padding, out-of-vocabulary, start and end of sequence.
"""

import collections

import keras
import tensorflow as tf

PAD, UNK, START, END = 0, 1, 2, 3
RESERVED = ("", "[UNK]", "[START]", "[END]")
STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation", None)
_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


def standardize(strings, mode):
    """The standardization of `TextVectorization` (same regex), as TensorFlow ops."""
    strings = tf.convert_to_tensor(strings, tf.string)
    if mode in ("lower_and_strip_punctuation", "lower"):
        strings = tf.strings.lower(strings)
    if mode in ("lower_and_strip_punctuation", "strip_punctuation"):
        strings = tf.strings.regex_replace(strings, _PUNCTUATION, "")
    return strings


def words_of(strings, mode):
    """Ragged `(batch, None)` words of a batch of strings."""
    return tf.strings.split(standardize(strings, mode))


def build_vocabulary(texts, max_length, vocabulary_size, mode, target="target"):
    """The most frequent words of `texts` (ties by word), checking no text is longer than `max_length` words.

    Returns:
        The list of words (no reserved tokens), at most `vocabulary_size - 4`.
    """
    texts = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in texts]
    if not texts:
        raise ValueError(f"TextGeneration target '{target}': adapt needs at least one target string; received none.")
    words = words_of(texts, mode).to_list()
    lengths = [len(w) for w in words]
    longest = max(range(len(texts)), key=lengths.__getitem__)
    if lengths[longest] > max_length:
        raise ValueError(
            f"TextGeneration target '{target}': row {longest} has {lengths[longest]} words "
            f"({texts[longest][:80]!r}); max_length={max_length}. Raise max_length (targets are never truncated)."
        )
    counts = collections.Counter(w.decode("utf-8") for row in words for w in row)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [w for w, _ in ranked[: max(vocabulary_size - len(RESERVED), 0)] if w not in RESERVED]


@keras.saving.register_keras_serializable(package="mmzoo")
class CaptionTokenizer(keras.layers.Layer):
    """Strings to `(batch, max_length + 2)` ids `[START] w1 .. wn [END] 0 ..`; ids back to strings.

    Args:
        vocabulary: the words (ids 4, 5, ... in order); see `build_vocabulary`.
        max_length: most words in a target (start and end tokens not counted).
        standardize: "lower_and_strip_punctuation", "lower",
            "strip_punctuation" or None.

    Example:
        >>> import tensorflow as tf
        >>> tok = CaptionTokenizer(["red", "circle"], max_length=3)
        >>> tok(tf.constant(["Red circle!"])).numpy().tolist()
        [[2, 4, 5, 3, 0]]
        >>> tok.detokenize([[2, 5, 3, 4, 0]]).numpy().tolist()
        [b'circle']
    """

    def __init__(self, vocabulary, max_length, standardize="lower_and_strip_punctuation", **kwargs):
        super().__init__(**kwargs)
        if standardize not in STANDARDIZE:
            raise ValueError(f"CaptionTokenizer standardize must be one of {STANDARDIZE}; received {standardize!r}.")
        self.vocabulary = [str(w) for w in vocabulary]
        self.max_length = int(max_length)
        self.standardize = standardize
        self.lookup = keras.layers.StringLookup(
            vocabulary=list(RESERVED[2:]) + self.vocabulary, mask_token="", oov_token="[UNK]", name="lookup"
        )
        self.built = True

    start_id, end_id = START, END

    @property
    def vocabulary_size(self):
        return len(RESERVED) + len(self.vocabulary)

    def call(self, strings):
        strings = tf.reshape(tf.convert_to_tensor(strings, tf.string), (-1,))
        ids = tf.ragged.map_flat_values(self.lookup, words_of(strings, self.standardize))
        ids = tf.cast(ids, "int32")
        batch = tf.shape(strings)[:1]
        ids = tf.concat([tf.fill(tf.concat([batch, [1]], 0), START), ids, tf.fill(tf.concat([batch, [1]], 0), END)], 1)
        check = tf.debugging.assert_less_equal(
            ids.row_lengths(),
            tf.cast(self.max_length + 2, ids.row_splits.dtype),
            message=f"a target has more than max_length={self.max_length} words; raise max_length (never truncated)",
        )
        with tf.control_dependencies([check]):
            return ids.to_tensor(default_value=PAD, shape=(None, self.max_length + 2))

    def compute_output_spec(self, strings):
        return keras.KerasTensor((strings.shape[0], self.max_length + 2), dtype="int32")

    def detokenize(self, ids):
        """Strings of `(batch, length)` ids: the words up to the first `[END]`, special ids dropped."""
        ids = tf.cast(tf.convert_to_tensor(ids), tf.int32)
        table = tf.constant(list(RESERVED) + self.vocabulary)
        before_end = tf.cumsum(tf.cast(tf.equal(ids, END), tf.int32), axis=1) == 0
        keep = tf.logical_and(before_end, tf.logical_or(ids == UNK, ids > END))
        words = tf.ragged.boolean_mask(tf.gather(table, ids), keep)
        return tf.strings.reduce_join(words, axis=1, separator=" ")

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": self.vocabulary,
            "max_length": self.max_length,
            "standardize": self.standardize,
        }

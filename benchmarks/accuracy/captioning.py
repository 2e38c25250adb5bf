"""The text-generation rows of the accuracy table: metrics and the two captioning baselines.

A generated text is scored against its one reference by
`mmzoo.analysis.text_metrics` (sacrebleu's corpus BLEU-4 and chrF on the 0-100
scale, and exact match, the share of outputs equal to their reference), as
`mmzoo.evaluate` scores a generation model.

The baselines need no training:

- `nearest_neighbour`: every query gets the caption of its most similar
  training example by cosine similarity of an embedding (`pixel_embedding`:
  the raw pixels, centred on the training mean).
- `most_frequent_words`: one caption for every query, the training set's
  most frequent words, as many as the median training caption has, in the
  order they tend to take in the captions.

Example:
    >>> train = ["red apple", "green apple", "red car"]
    >>> most_frequent_words(train)
    'red apple'
    >>> emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    >>> nearest_neighbour(emb, train, np.array([[0.1, 0.9], [0.9, 0.2]]))
    ['green apple', 'red apple']
    >>> text_metrics(["red apple", "a car"], ["red apple", "red car"])["exact_match"]
    0.5
"""

import collections

import numpy as np

METRICS = ("chrf", "bleu", "exact_match")


def text_metrics(hypotheses, references):
    """`{"bleu", "chrf", "exact_match", "num_examples"}` of `hypotheses` (`mmzoo.analysis.text_metrics`)."""
    from mmzoo.analysis.text_metrics import text_metrics as score

    out = score([str(r) for r in references], [str(h) for h in hypotheses])
    out.pop("per_example")
    return out


def pixel_embedding(train_images, *others):
    """Raw pixels as vectors: flattened, scaled to [0, 1], centred on the training images' mean pixel values."""
    flat = [np.asarray(x, np.float32).reshape(len(x), -1) / 255.0 for x in (train_images, *others)]
    mean = flat[0].mean(axis=0, keepdims=True)
    return [x - mean for x in flat]


def _unit(x):
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def nearest_neighbour(train_embedding, train_captions, query_embedding):
    """The caption of each query's nearest training example by cosine similarity (ties: the first)."""
    if len(train_embedding) != len(train_captions):
        raise ValueError(
            f"nearest_neighbour: {len(train_embedding)} training embeddings for {len(train_captions)} captions."
        )
    nearest = np.argmax(_unit(query_embedding) @ _unit(train_embedding).T, axis=1)
    return [str(train_captions[i]) for i in nearest]


def most_frequent_words(train_captions):
    """One caption: the most frequent training words (median caption length of them), in their usual order.

    Ties in frequency go to the word seen first; the chosen words are ordered
    by their mean relative position (0 = first word, 1 = last) in the
    training captions.
    """
    counts, positions = collections.Counter(), collections.defaultdict(list)
    lengths = []
    for caption in train_captions:
        words = str(caption).split()
        lengths.append(len(words))
        for i, word in enumerate(words):
            counts[word] += 1
            positions[word].append(i / max(1, len(words) - 1))
    if not counts:
        raise ValueError("most_frequent_words: the training captions hold no words.")
    k = max(1, int(round(np.median(lengths))))
    chosen = [word for word, _ in counts.most_common(k)]
    return " ".join(sorted(chosen, key=lambda w: np.mean(positions[w])))

"""Metrics of generated text: BLEU-4 and chrF from sacrebleu, exact match, and one row per example.

sacrebleu (Post 2018, "A Call for Clarity in Reporting BLEU Scores") is the
reference implementation these scores are quoted from; mmzoo calls it with
its defaults (BLEU: 4-grams, "13a" tokenization, exponential smoothing for
sentence scores; chrF: character 6-grams, beta 2). Scores are on sacrebleu's
0-100 scale; exact match is the fraction of examples generated exactly.
BLEU-4 is 0 for a corpus without any 4-gram (one- or two-word targets):
read chrF and exact match there.
"""

import numpy as np


def _sacrebleu():
    try:
        import sacrebleu
    except ImportError as error:  # pragma: no cover - the test extra installs it
        raise ImportError('Text metrics need sacrebleu: pip install "mmzoo[text]".') from error
    return sacrebleu


def _strings(values, name):
    values = [v.decode("utf-8") if isinstance(v, bytes) else v for v in np.asarray(values, dtype=object).ravel()]
    bad = next((i for i, v in enumerate(values) if not isinstance(v, str)), None)
    if bad is not None:
        raise ValueError(f"text_metrics {name}[{bad}] must be a string; received {type(values[bad]).__name__}.")
    return values


def text_metrics(references, generated):
    """BLEU-4, chrF and exact match of `generated` against one reference each, plus per-example scores.

    Args:
        references: the target strings.
        generated: the model's strings, in the same order.

    Returns:
        `{"bleu", "chrf", "exact_match", "num_examples", "per_example"}`;
        `per_example` is a list of `{"reference", "generated", "exact_match",
        "bleu", "chrf"}` (sentence-level sacrebleu scores).

    Example:
        >>> m = text_metrics(["a red circle", "a blue square"], ["a red circle", "a square"])
        >>> m["exact_match"], round(m["chrf"], 2), m["per_example"][1]["exact_match"]
        (0.5, 71.72, False)
    """
    sacrebleu = _sacrebleu()
    references, generated = _strings(references, "references"), _strings(generated, "generated")
    if len(references) != len(generated):
        raise ValueError(
            f"text_metrics needs one generated string per reference; received {len(references)} references "
            f"and {len(generated)} generated strings."
        )
    if not references:
        raise ValueError("text_metrics received no examples.")
    rows = [
        {
            "reference": ref,
            "generated": gen,
            "exact_match": ref == gen,
            "bleu": float(sacrebleu.sentence_bleu(gen, [ref]).score),
            "chrf": float(sacrebleu.sentence_chrf(gen, [ref]).score),
        }
        for ref, gen in zip(references, generated)
    ]
    return {
        "bleu": float(sacrebleu.corpus_bleu(generated, [references]).score),
        "chrf": float(sacrebleu.corpus_chrf(generated, [references]).score),
        "exact_match": float(np.mean([row["exact_match"] for row in rows])),
        "num_examples": len(rows),
        "per_example": rows,
    }


def standardized(texts, standardize):
    """`texts` standardized as a TextGeneration target is (words joined by single spaces)."""
    from mmzoo.models.caption_tokenizer import words_of

    texts = _strings(texts, "references")
    return [" ".join(w.decode("utf-8") for w in row) for row in words_of(texts, standardize).to_list()]


def evaluate_generation(model, dataset, task, **generate_options):
    """`text_metrics` of `model.generate` over `dataset` (batches of `(features, target strings)`).

    References are standardized like the targets the model learned from
    (`task.standardize`: by default lower case, punctuation stripped), since
    those are the strings it can generate; a GPT-2 decoder's byte-pair
    tokens keep the text as it is, and so do its references.
    """
    if isinstance(dataset, tuple) and len(dataset) == 2:
        batches = [dataset]
    else:
        batches = []
        for element in dataset:
            if not isinstance(element, tuple) or len(element) < 2:
                raise ValueError("evaluate needs a dataset of (features, target strings); this one yields no targets.")
            batches.append(({k: np.asarray(v) for k, v in element[0].items()}, np.asarray(element[1])))
    references, generated = [], []
    for features, targets in batches:
        features = {k: v for k, v in features.items() if k != task.target}
        generated += model.generate(features, **generate_options)
        references += (
            standardized(targets, task.standardize) if task.decoder == "transformer" else _strings(targets, "targets")
        )
    return text_metrics(references, generated)

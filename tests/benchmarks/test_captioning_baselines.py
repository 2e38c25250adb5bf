"""The captioning baselines and text metrics of the accuracy table's generation rows, on toy sets."""

import numpy as np
import pytest

from benchmarks.accuracy.captioning import most_frequent_words, nearest_neighbour, pixel_embedding, text_metrics


def test_nearest_neighbour_returns_the_caption_of_the_most_similar_training_example():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(20, 8))
    captions = [f"caption {i}" for i in range(20)]
    queries = 3.0 * train[[7, 2, 19]] + 0.01 * rng.normal(size=(3, 8))  # scaled: cosine ignores the norm
    assert nearest_neighbour(train, captions, queries) == ["caption 7", "caption 2", "caption 19"]
    with pytest.raises(ValueError, match="20 training embeddings for 19 captions"):
        nearest_neighbour(train, captions[:-1], queries)


def test_pixel_embedding_centres_on_the_training_mean_so_a_shared_background_does_not_dominate():
    background = np.full((4, 6, 6, 3), 255, np.uint8)
    train = background.copy()
    for i in range(4):
        train[i, i, :, :] = 0  # a dark row at a different place in each image
    query = train[[2]].copy()
    query[0, 5, 0, :] = 10  # one small change
    train_emb, query_emb = pixel_embedding(train, query)
    assert train_emb.shape == (4, 108) and np.allclose(train_emb.mean(axis=0), 0.0, atol=1e-6)
    assert nearest_neighbour(train_emb, ["a", "b", "c", "d"], query_emb) == ["c"]


def test_most_frequent_words_takes_the_median_length_in_the_usual_order():
    captions = ["big red apple", "small red car", "red car", "green apple tree", "red apple"]
    # counts: red 4, apple 3, car 2; median length 3; mean relative positions red 0.25, apple 0.83, car 1
    assert most_frequent_words(captions) == "red apple car"
    # a tie in frequency goes to the word seen first (France before Peru and face)
    assert most_frequent_words(["flag: France", "flag: Peru", "face"]) == "flag: France"
    with pytest.raises(ValueError, match="no words"):
        most_frequent_words(["", " "])


def test_text_metrics_match_sacrebleu_and_count_exact_matches():
    import sacrebleu

    hyps, refs = ["grinning face", "flag: Peru", "red apple"], ["grinning face", "flag: France", "green apple"]
    out = text_metrics(hyps, refs)
    assert out["exact_match"] == pytest.approx(1 / 3) and out["num_examples"] == 3
    assert out["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert out["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert text_metrics(refs, refs)["chrf"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="one generated string per reference"):
        text_metrics(hyps[:2], refs)


def test_the_report_checks_the_generation_targets_and_shows_example_outputs():
    from benchmarks.accuracy import report

    def run(model, kind, seed, chrf, exact):
        examples = [{"output": f"{model} out", "reference": "grinning face"}]
        metrics = {"chrf": chrf, "bleu": 1.0, "exact_match": exact}
        return {"model": model, "kind": kind, "seed": seed, "params": 1, "train_seconds": 1, "metrics": metrics,
                "examples": examples}  # fmt: skip

    record = {
        "primary": "chrf",
        "metrics": ["chrf", "bleu", "exact_match"],
        "runs": [run("early_fusion + decoder", "generator", s, 30.0 + s, 0.0) for s in (0, 1)]
        + [run("nearest neighbour (pixels)", "baseline", s, 27.0, 0.0) for s in (0, 1)]
        + [run("nearest neighbour (generator's encoder)", "baseline", s, 31.0, 0.0) for s in (0, 1)],
    }
    rows = report.summarize(record)
    assert rows[0]["model"] == "early_fusion + decoder"
    checks = dict(report.targets("emoji_captions", rows))
    assert checks["the captioner beats `nearest neighbour (pixels)` on chrF: 30.5 vs 27.0 (+3.5)"] is True
    assert checks["the captioner beats `nearest neighbour (generator's encoder)` on chrF: 30.5 vs 31.0 (-0.5)"] is False
    assert "| 30.5 ± 0.7 | 1.0 ± 0.0 | 0.0 ± 0.0 |" in report.table(record, rows)
    assert "| grinning face | early_fusion + decoder out |" in report.examples(record)
    words = {**record, "primary": "exact_match", "runs": [run("early_fusion + decoder", "generator", 0, 90.0, 0.96)]}
    assert report.targets("fsdd_words", report.summarize(words)) == [("exact match >= 95%: 96.0%", True)]

"""TextGeneration: a tiny captioner learns, decodes alike with and without its cache, and exports."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.analysis.text_metrics import text_metrics
from mmzoo.models.caption_tokenizer import END, START
from mmzoo.models.generation import generator
from tests.helpers import run_cli, small_inputs

WORDS = ["zero one", "one two three", "two", "three four"]


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(WORDS)
    x = (0.1 * rng.standard_normal((n, 6))).astype("float32")
    x[np.arange(n), labels] += 2.0
    return {"x": x}, np.array([WORDS[i] for i in labels], dtype=object)


@pytest.fixture(scope="module")
def trained():
    """A feature vector -> one of four captions; the vector fusion conditions the decoder through a prefix."""
    keras.utils.set_random_seed(0)
    x, captions = _data()
    task = mmzoo.TextGeneration(target="caption", max_length=4, units=32, num_heads=2, num_layers=1, dropout=0.0)
    task.adapt(captions)
    model = mmzoo.build_model(
        "early_fusion",
        [mmzoo.Features("x", shape=(6,), normalize=False)],
        task=task,
        encoders={"x": ("mlp", {"units": (32,)})},
        learning_rate=1e-2,
    )
    model.fit(x, captions, epochs=20, batch_size=16, verbose=0)
    return model, x, captions


def test_tiny_captioner_learns_the_captions(trained):
    model, x, captions = trained
    assert model.generate(x) == list(captions)  # exact match on every example
    assert model.task_config["vocabulary"] == ["one", "three", "two", "four", "zero"]


def test_cached_and_uncached_decoding_agree(trained):
    model, x, _ = trained
    assert model.generate(x, use_cache=False) == model.generate(x)
    # step by step, the cached logits are the full decoder's logits at each position
    gen = generator(model)
    memory = gen.encoder(x, training=False)
    ids = gen.tokenizer(tf.constant(_data()[1]))
    full = gen.decoder(ids, memory)
    cache = gen.decoder.start_cache(memory, ids.shape[1])
    for index in range(ids.shape[1] - 1):
        logits, cache = gen.decoder.step(ids, cache, index)
        np.testing.assert_allclose(logits, full[:, index], atol=1e-4)


def test_samplers_return_vocabulary_words(trained):
    model, x, captions = trained
    assert model.generate(x, sampler="beam", num_beams=3) == list(captions)
    vocabulary = set(model.task_config["vocabulary"])
    # a sampling sampler (top_k runs in docs/generation.md): words of the vocabulary, at most max_length of them
    texts = model.generate(x, sampler="top_p", max_length=3, p=0.9, seed=1, temperature=2.0)
    assert len(texts) == len(captions)
    assert all(set(t.split()) <= vocabulary and len(t.split()) <= 3 for t in texts)


def test_generation_errors_name_the_fix(trained):
    model, x, _ = trained
    with pytest.raises(ValueError, match="sampler must be one of greedy, beam, top_k, top_p"):
        model.generate(x, sampler="nucleus")
    with pytest.raises(ValueError, match="max_length must be an integer from 1 to the task's max_length=4"):
        model.generate(x, max_length=9)
    with pytest.raises(ValueError, match="row 1 has 3 words"):
        mmzoo.TextGeneration(target="t", max_length=2).adapt(["a b", "a b c"])
    spec = mmzoo.Features("x", shape=(6,), normalize=False)
    with pytest.raises(ValueError, match="no vocabulary: call task.adapt"):
        mmzoo.build_model("early_fusion", [spec], task=mmzoo.TextGeneration(target="t"))
    task = mmzoo.TextGeneration(target="x", vocabulary=["a"])
    with pytest.raises(ValueError, match="has the name of an input"):
        mmzoo.build_model("early_fusion", [spec], task=task)
    task = mmzoo.TextGeneration(target="t", vocabulary=["a"])
    with pytest.raises(ValueError, match="late_fusion combines per-modality decisions"):
        mmzoo.build_model("late_fusion", [spec, mmzoo.Features("y", shape=(2,), normalize=False)], task=task)
    with pytest.raises(ValueError, match="generate needs a TextGeneration task"):
        mmzoo.build_model("early_fusion", [spec], task=mmzoo.Classification(2)).generate(x)


def test_sequence_fusion_cross_attends_over_tokens():
    """`mult` hands the decoder the token sequences of image and text, which it cross-attends."""
    specs, x, n = small_inputs(("image", "text"))
    task = mmzoo.TextGeneration(target="answer", max_length=3, units=16, num_heads=2, num_layers=1)
    task.adapt(["red square", "blue circle", "green"])
    model = mmzoo.build_model(
        "mult",
        specs,
        task=task,
        fusion_options={"units": 16, "num_layers": 1},
        encoders={"image": ("cnn", {"filters": (4,)})},
    )
    assert len(model.get_layer("answer_memory").output.shape) == 3
    generated = model.generate(x)
    assert len(generated) == n and all(
        set(t.split()) <= {"red", "square", "blue", "circle", "green", "[UNK]"} for t in generated
    )


SERVER = """
import sys
for name in ("keras", "tf_keras", "mmzoo"):  # the SavedModel runs with neither Keras nor mmzoo
    sys.modules[name] = None
import json, numpy as np, tensorflow as tf
x = np.load(sys.argv[2])
generate = tf.saved_model.load(sys.argv[1]).signatures["generate"]
texts = [t.decode() for t in generate(x=tf.constant(x))["text"].numpy()]
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "mmzoo") and sys.modules[m] is not None)
for name in ("keras", "tf_keras", "mmzoo"):
    del sys.modules[name]
import mmzoo  # then the .keras file, in the same fresh process
print(json.dumps({"savedmodel": texts, "leaked": leaked, "keras": mmzoo.load(sys.argv[3]).generate({"x": x})}))
"""


def test_savedmodel_generate_and_keras_round_trip_in_a_fresh_process(trained, tmp_path, capsys):
    model, x, _ = trained
    expected = model.generate(x)
    saved = mmzoo.export(model, str(tmp_path / "captioner"))
    assert list(json.load(open(os.path.join(saved, "assets.extra", "mmzoo.json")))["signature"]) == ["generate"]
    # `python -m mmzoo predict` loads it through mmzoo's op allowlist and prints the generated text
    features = ",".join(str(v) for v in x["x"][1])
    code, out, err = run_cli("predict", "--model", saved, "--features", features, capsys=capsys)
    assert (code, out.strip()) == (0, f"text: {expected[1]}"), err
    model.save(tmp_path / "captioner.keras")
    np.save(tmp_path / "x.npy", x["x"])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(SERVER),
            saved,
            str(tmp_path / "x.npy"),
            str(tmp_path / "captioner.keras"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["leaked"] == []
    assert result["savedmodel"] == expected
    assert result["keras"] == expected


def test_tokenizer_round_trip_and_reserved_ids(trained):
    model, _, _ = trained
    tokenizer = generator(model).tokenizer
    ids = tokenizer(tf.constant(["Three, FOUR!", "five"])).numpy()
    assert ids[0].tolist()[:4] == [START, 5, 7, END] and ids[1].tolist()[:3] == [START, 1, END]
    assert [t.decode() for t in tokenizer.detokenize(ids).numpy()] == ["three four", "[UNK]"]


def test_evaluate_reports_sacrebleu_scores_per_example(trained):
    import sacrebleu

    model, x, captions = trained
    report = mmzoo.evaluate(model, (x, captions))
    assert report["exact_match"] == 1.0 and report["chrf"] == 100.0 and report["num_examples"] == len(captions)
    row = report["per_example"][0]
    assert (row["reference"], row["generated"], row["exact_match"]) == (captions[0], captions[0], True)
    assert row["chrf"] == pytest.approx(100.0) and row["bleu"] == pytest.approx(100.0)
    references = ["the cat sat on the mat today", "a dog runs in the park", "Seven"]
    generated = ["the cat sat on a mat today", "a dog runs in the park", "seven"]
    scores = text_metrics(references, generated)
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(generated, [references]).score)
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(generated, [references]).score)
    assert scores["exact_match"] == pytest.approx(1 / 3)  # case matters: "Seven" is not "seven"
    assert scores["per_example"][0]["bleu"] == pytest.approx(
        sacrebleu.sentence_bleu(generated[0], [references[0]]).score
    )
    assert 0 < scores["bleu"] < 100 and 0 < scores["per_example"][0]["chrf"] < 100


def test_predict_table_of_generated_text():
    from mmzoo.cli.tables import prediction_table, summary_lines

    table = prediction_table(np.array([b"red circle", "green"], object), {"kind": "text_generation"})
    assert table["generated"].tolist() == ["red circle", "green"]
    assert summary_lines(table) == ["  row 0: red circle", "  row 1: green"]

"""Attribution per modality on data where the truth is known: the label reads modality "a" only."""

import keras
import numpy as np
import pytest

import mmzoo
from mmzoo.analysis.attribution import ablation, fusion_weights, integrated_gradients, modality_importance
from mmzoo.plots.attribution import plot_attribution
from mmzoo.plots.comparison import plot_retrieval_examples, plot_zoo_comparison
from tests.helpers import small_inputs

PNG = b"\x89PNG\r\n\x1a\n"


def _data(n, seed):
    """`a` carries the label in its first feature; `b` is noise of the same size and scale."""
    rng = np.random.default_rng(seed)
    x = {"a": rng.standard_normal((n, 4)).astype("float32"), "b": rng.standard_normal((n, 4)).astype("float32")}
    return x, (x["a"][:, 0] > 0).astype("int64")


def _trained(architecture, **options):
    x, y = _data(1024, seed=0)
    specs = [mmzoo.Features("a", shape=(4,)), mmzoo.Features("b", shape=(4,))]
    for spec in specs:
        spec.adapt(x[spec.name])
    small = {
        "encoders": {n: ("mlp", {"units": (16,), "dropout": 0.0}) for n in "ab"},
        "head_units": (16,),
        "dropout": 0.0,
        "fusion_options": {"units": 16},
        "learning_rate": 1e-2,
    }
    keras.utils.set_random_seed(0)
    model = mmzoo.build_model(architecture, specs, mmzoo.Classification(2), **small, **options)
    model.fit(x, y, batch_size=64, epochs=8, verbose=0)
    return model


@pytest.fixture(scope="module")
def attention_model():
    """Built with presence flags and modality dropout, so ablation masks by presence."""
    return _trained("attention", missing_modalities=True, modality_dropout=0.25)


@pytest.fixture(scope="module")
def weighted_model():
    """No presence flags: ablation replaces inputs with the zero baseline."""
    return _trained("weighted_sum")


def test_models_learned_the_task(attention_model, weighted_model):
    x, y = _data(256, seed=1)
    for model in (attention_model, weighted_model):
        assert np.mean(np.argmax(model.predict(x, verbose=0), 1) == y) > 0.9, model.name


def test_ig_completeness(attention_model):
    x, _ = _data(32, seed=2)
    attributions, delta = integrated_gradients(attention_model, x, steps=32, return_delta=True)
    assert sorted(attributions) == ["a", "b"] and attributions["a"].shape == (32, 4)
    probabilities = attention_model.predict(x, verbose=0)
    baseline = attention_model.predict({k: np.zeros_like(v) for k, v in x.items()}, verbose=0)
    chosen = np.argmax(probabilities, 1)
    difference = probabilities[np.arange(32), chosen] - baseline[np.arange(32), chosen]
    summed = attributions["a"].sum(1) + attributions["b"].sum(1)
    np.testing.assert_allclose(summed - difference, delta, atol=1e-5)  # delta is what it claims to be
    assert np.sum(np.abs(delta)) <= 0.05 * np.sum(np.abs(difference))


def test_ig_share_finds_the_informative_modality(attention_model, weighted_model):
    x, y = _data(64, seed=3)
    for model in (attention_model, weighted_model):
        shares = modality_importance(model, x, labels=y, steps=16)
        assert abs(sum(shares.values()) - 1) < 1e-6
        assert shares["a"] > 0.8, (model.name, shares)


def test_ablation_by_presence_and_by_baseline(attention_model, weighted_model):
    x, y = _data(512, seed=4)
    for model, method in ((attention_model, "presence"), (weighted_model, "baseline")):
        drops = ablation(model, x, y)
        assert drops.method == {"a": method, "b": method} and drops.metric == "accuracy"
        assert drops["a"] > 0.3 and drops["b"] < 0.05, (model.name, dict(drops))
        assert drops["a"] == pytest.approx(drops.score - drops.scores["a"])


def test_ablation_reads_a_dataset_and_errors_increase_for_mae():
    import tensorflow as tf

    x, y = _data(64, seed=5)
    specs = [mmzoo.Features("a", shape=(4,), normalize=False), mmzoo.Features("b", shape=(4,), normalize=False)]
    model = mmzoo.build_model("early_fusion", specs, mmzoo.Regression())
    target = x["a"][:, :1] * 3.0
    from_arrays = ablation(model, x, target)
    from_dataset = ablation(model, tf.data.Dataset.from_tensor_slices((x, target)).batch(16), metric="mae")
    assert from_arrays.metric == "mae"
    for name in ("a", "b"):
        assert from_dataset[name] == pytest.approx(from_arrays[name], abs=1e-5)
        assert from_arrays[name] == pytest.approx(from_arrays.scores[name] - from_arrays.score)


def test_fusion_weights(attention_model, weighted_model):
    x, _ = _data(16, seed=6)
    weights = fusion_weights(attention_model, x)
    stacked = np.stack([weights["a"], weights["b"]], axis=1)
    assert stacked.shape == (16, 2) and np.all(stacked >= 0)
    np.testing.assert_allclose(stacked.sum(1), 1.0, atol=1e-5)
    assert np.mean(weights["a"]) > np.mean(weights["b"])  # the trained attention favours the informative input
    absent = fusion_weights(attention_model, {**x, "b_present": np.zeros(16, bool)})
    np.testing.assert_allclose(absent["a"], 1.0, atol=1e-6)
    np.testing.assert_allclose(absent["b"], 0.0, atol=1e-6)
    constant = fusion_weights(weighted_model, x)
    np.testing.assert_allclose(constant["a"] + constant["b"], 1.0, atol=1e-5)
    assert np.ptp(constant["a"]) < 1e-6  # one learned weight per modality


def test_fusion_weights_gmu_and_none():
    specs, x, _ = small_inputs(("features", "text"))
    gates = fusion_weights(mmzoo.build_model("gmu", specs, mmzoo.Classification(2), fusion_options={"units": 8}), x)
    np.testing.assert_allclose(gates["features"] + gates["text"], 1.0, atol=1e-5)
    assert fusion_weights(mmzoo.build_model("early_fusion", specs, mmzoo.Classification(2)), x) == {}


def test_image_audio_text_model(tmp_path):
    """uint8 pixels are attributed after rescaling, audio on its log-mel, text by ablation only."""
    keras.utils.set_random_seed(0)
    specs, x, n = small_inputs(("image", "audio", "text"))
    model = mmzoo.build_model("attention", specs, mmzoo.Classification(3), fusion_options={"units": 8})
    attributions, delta = integrated_gradients(model, x, steps=32, return_delta=True)
    assert sorted(attributions) == ["audio", "image"]  # no gradient reaches strings
    assert attributions["image"].shape == x["image"].shape
    assert attributions["audio"].shape[::2] == (n, 16)  # (batch, frames, mel bins): attributed on the log-mel
    probabilities = model.predict(x, verbose=0)
    baseline = model.predict({**x, "image": np.zeros_like(x["image"]), "audio": np.zeros_like(x["audio"])}, verbose=0)
    chosen = np.argmax(probabilities, 1)
    difference = probabilities[np.arange(n), chosen] - baseline[np.arange(n), chosen]
    assert np.sum(np.abs(delta)) <= 0.05 * np.sum(np.abs(difference)) + 1e-4
    labels = np.arange(n) % 3
    fig = plot_attribution(model, x, labels, path=tmp_path / "attribution.png", steps=8)
    # IG share, ablation, fusion weights, image heat map, audio saliency
    assert len(fig.axes) == 5
    assert (tmp_path / "attribution.png").read_bytes().startswith(PNG)
    assert "text" in [t.get_text() for t in fig.axes[1].get_xticklabels()]  # text has an ablation bar


def test_plot_attribution_panels(attention_model, tmp_path):
    x, y = _data(32, seed=7)
    fig = plot_attribution(attention_model, x, y, path=tmp_path / "att.png", steps=8)
    assert len(fig.axes) == 5  # share, ablation, fusion weights, a, b
    assert (tmp_path / "att.png").read_bytes().startswith(PNG)
    heights = {t.get_text(): p.get_height() for t, p in zip(fig.axes[0].get_xticklabels(), fig.axes[0].patches)}
    assert heights["a"] > heights["b"]
    no_labels = plot_attribution(attention_model, x, steps=4)
    assert len(no_labels.axes) == 4


def test_comparison_plots(tmp_path):
    fig = plot_zoo_comparison(
        {"tfn": (0.81, 0.02), "lmf": (0.79, 0.01), "late_fusion": 0.7}, path=tmp_path / "zoo.png", reference=0.5
    )
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["late_fusion", "lmf", "tfn"]
    assert [round(p.get_width(), 2) for p in fig.axes[0].patches] == [0.7, 0.79, 0.81]
    assert (tmp_path / "zoo.png").read_bytes().startswith(PNG)
    images = [np.full((8, 8, 3), v, "uint8") for v in (0, 128, 255)]
    fig = plot_retrieval_examples(
        ["a dark square", "a light square"],
        [images, images[::-1]],
        path=tmp_path / "grid.png",
        correct=[[1, 0, 0], [1, 0, 0]],
        scores=[[0.9, 0.5, 0.1], [0.8, 0.4, 0.2]],
    )
    assert len(fig.axes) == 8 and fig.axes[1].get_title() == "#1 0.90"
    assert (tmp_path / "grid.png").read_bytes().startswith(PNG)


def test_errors_name_the_problem():
    specs, x, n = small_inputs(("text",))
    text_only = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(2))
    with pytest.raises(ValueError, match="text.*ablation"):
        integrated_gradients(text_only, x)
    with pytest.raises(ValueError, match="metric must be one of"):
        ablation(text_only, x, np.zeros(n, int), metric="auc")
    with pytest.raises(ValueError, match="labels="):
        ablation(text_only, x)
    specs, x, n = small_inputs(("features", "audio"))
    model = mmzoo.build_model("weighted_sum", specs, mmzoo.Classification(2))
    with pytest.raises(ValueError, match="needs input.*'audio'"):
        integrated_gradients(model, {"features": x["features"]})
    with pytest.raises(ValueError, match="target must be one int or one per example"):
        integrated_gradients(model, x, target=[0, 1])
    with pytest.raises(ValueError, match="baseline names.*'nope'"):
        integrated_gradients(model, x, baseline={"nope": 0})
    with pytest.raises(ValueError, match="no fusion layer 'nope'"):
        fusion_weights(model, x, layer="nope")
    with pytest.raises(ValueError, match="model 'x' needs a mean"):
        plot_zoo_comparison({"x": (1, 2, 3)})
    with pytest.raises(ValueError, match="same number"):
        plot_retrieval_examples(["q1", "q2"], [["a"], ["b", "c"]])

"""In-graph preprocessing of each spec is per example: outputs never depend on the rest of the batch."""

import keras
import numpy as np

import mmzoo


def _preprocessor(spec):
    x = spec.input()
    return keras.Model(x, spec.preprocess(x))


def test_audio_logmel_is_independent_of_the_batch():
    spec = mmzoo.Audio("voice", sample_rate=8000, seconds=0.5)
    rng = np.random.default_rng(0)
    quiet = (0.001 * rng.standard_normal((1, 4000))).astype("float32")
    loud = (0.9 * rng.standard_normal((1, 4000))).astype("float32")
    model = _preprocessor(spec)
    alone = model(quiet)
    together = model(np.concatenate([quiet, loud]))[:1]
    np.testing.assert_allclose(np.asarray(alone), np.asarray(together), atol=1e-4)
    assert np.asarray(alone).shape == (1, 51, 64)  # centred frames: 4000 // 80 + 1


def test_audio_frontends_shapes():
    for frontend, shape in (("logmel", (51, 64)), ("mfcc", (51, 20)), ("waveform", (4000, 1))):
        spec = mmzoo.Audio("voice", sample_rate=8000, seconds=0.5, frontend=frontend)
        out = _preprocessor(spec)(np.zeros((2, 4000), "float32"))
        assert tuple(out.shape) == (2,) + shape, frontend


def test_mfcc_is_an_orthonormal_dct_of_the_logmel():
    from mmzoo.specs.audio import MFCC

    layer = MFCC(num_coefficients=8)
    logmel = np.random.default_rng(1).standard_normal((3, 5, 8)).astype("float32")
    out = np.asarray(layer(logmel))
    n = np.arange(8)
    basis = np.array([np.cos(np.pi / 8 * (n + 0.5) * k) for k in range(8)]).T * np.sqrt(2 / 8)
    basis[:, 0] /= np.sqrt(2)
    np.testing.assert_allclose(out, logmel @ basis, atol=1e-5)
    np.testing.assert_allclose(basis.T @ basis, np.eye(8), atol=1e-6)  # orthonormal: energy preserved


def test_image_rescales_uint8_and_float():
    out = _preprocessor(mmzoo.Image("img", shape=(2, 2, 1)))(np.full((1, 2, 2, 1), 255, "uint8"))
    np.testing.assert_allclose(np.asarray(out), 1.0)
    spec = mmzoo.Image("img", shape=(4, 4, 3), dtype="float32", resize=(2, 2))
    assert tuple(_preprocessor(spec)(np.ones((1, 4, 4, 3), "float32")).shape) == (1, 2, 2, 3)


def test_text_vectorizes_with_adapted_vocabulary():
    spec = mmzoo.Text("review", vocabulary_size=10, sequence_length=4)
    spec.adapt(["good film", "bad film", "film"])
    ids = np.asarray(_preprocessor(spec)(np.array(["film good unknown"], dtype=object)))
    vocab = spec.get_vocabulary()
    assert ids.tolist() == [[vocab.index("film"), vocab.index("good"), 1, 0]]

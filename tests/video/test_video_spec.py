"""The Video spec: shape, config round trip, in-graph rescaling/resizing, and clear refusals."""

import numpy as np
import pytest

import mmzoo
from mmzoo.specs import spec_from_config
from tests.helpers import small_inputs


def test_spec_shape_config_and_errors():
    clip = mmzoo.Video("clip", frames=8, shape=(32, 24, 1), resize=(16, 16))
    assert clip.shape == (8, 32, 24, 1) and clip.frame_shape == (32, 24, 1)
    config = clip.get_config()
    assert config["shape"] == [32, 24, 1] and "frame_shape" not in config
    assert spec_from_config(config) == clip
    with pytest.raises(ValueError, match="frames=<a positive int>"):
        mmzoo.Video("clip", frames=0)
    with pytest.raises(ValueError, match="frame count goes in frames="):
        mmzoo.Video("clip", shape=(8, 32, 32, 3))


def test_model_refuses_other_frame_counts_and_masks_absent_video():
    specs, x, n = small_inputs(("video", "features"))
    model = mmzoo.build_model(
        "early_fusion",
        specs,
        mmzoo.Classification(2),
        encoders={"video": ("frame_pool", {"image_options": {"filters": (4,)}, "units": 4})},
        missing_modalities=True,
    )
    with pytest.raises(ValueError, match=r"Video input 'video' expects uint8 clips .*has 6 frames, not 4.*mmzoo.data"):
        model.predict({**x, "video": np.zeros((n, 6, 12, 12, 3), "uint8")}, verbose=0)
    absent = {**x, "video_present": np.zeros(n, bool), "features_present": np.ones(n, bool)}
    a = model.predict(absent, verbose=0)
    b = model.predict({**absent, "video": 255 - x["video"]}, verbose=0)
    np.testing.assert_allclose(a, b, atol=1e-6)  # an absent clip's pixels do not matter


def test_resize_in_graph_matches_resizing_each_frame():
    import keras

    clip = mmzoo.Video("clip", frames=3, shape=(8, 8, 3), dtype="float32", resize=(4, 6))
    x = np.random.default_rng(0).random((2,) + clip.shape).astype("float32")
    inp = clip.input()
    out = keras.Model(inp, clip.preprocess(inp))(x)
    want = np.stack([keras.layers.Resizing(4, 6)(x[:, t]) for t in range(3)], axis=1)
    np.testing.assert_allclose(out, want, atol=1e-6)

"""Video encoders beyond the registry cases: a pretrained image backbone on every frame, temporal models."""

import numpy as np
import pytest

import mmzoo
from mmzoo.encoders.video_conv import Conv2Plus1D
from mmzoo.encoders.video_frames import FrameEncoder

SMALL_MOBILENET = {"units": 8, "backbone_options": {"alpha": 0.75, "minimalistic": True}}


@pytest.mark.slow  # a keras.applications backbone, like the other backbone tests
def test_pretrained_backbone_on_every_frame_keeps_weights_not_path(tmp_path):
    source = mmzoo.encoders.applications.ApplicationEncoder("mobilenet_v3_small", **SMALL_MOBILENET)
    path = str(tmp_path / "mobilenet.weights.h5")
    source.backbone.save_weights(path)
    enc = FrameEncoder(
        image_encoder="mobilenet_v3_small",
        image_options={**SMALL_MOBILENET, "weights": path, "freeze": True},
        temporal="max",
    )
    clips = np.random.default_rng(0).random((2, 3, 32, 32, 3)).astype("float32")
    out = enc(clips).numpy()
    # each frame went through the backbone read from the file
    frame = clips[:, 1]
    np.testing.assert_allclose(
        enc.frame_encoder.backbone(frame * 255.0).numpy(), source.backbone(frame * 255.0).numpy(), atol=1e-5
    )
    assert len(enc.frame_encoder.backbone.trainable_weights) == 0  # freeze=True reached the backbone
    assert out.shape == (2, 8)
    # a saved model holds the weights, never the path (the config round trip is every registry case's)
    assert "weights" not in enc.get_config()["image_options"]


def test_temporal_models_and_bad_names():
    clips = np.zeros((2, 5, 12, 12, 1), "float32")
    small = {"filters": (4,)}
    for temporal, options, shape in (("transformer", {"num_heads": 2}, (2, 8)), ("bilstm", {}, (2, 16))):
        enc = FrameEncoder(image_options=small, units=8, temporal=temporal, temporal_options=options)
        assert tuple(enc(clips).shape) == shape == enc.compute_output_shape(clips.shape)
    with pytest.raises(ValueError, match="image_encoder='bilstm' is not a registered image encoder; choose one of"):
        FrameEncoder(image_encoder="bilstm")
    with pytest.raises(ValueError, match="temporal='cnn'.*or one of mean, max"):
        FrameEncoder(temporal="cnn")


def test_2plus1d_equals_two_3d_convolutions():
    import keras

    layer = Conv2Plus1D(5, 4, kernel_size=3, temporal_kernel=3, strides=(1, 1))
    x = np.random.default_rng(0).random((2, 4, 6, 6, 3)).astype("float32")
    y = layer(x, training=False).numpy()
    spatial = keras.layers.Conv3D(4, (1, 3, 3), padding="same", use_bias=False)
    temporal = keras.layers.Conv3D(5, (3, 1, 1), padding="same", use_bias=False)
    spatial.build(x.shape)
    temporal.build((None, 4, 6, 6, 4))
    spatial.kernel.assign(layer.spatial.kernel.numpy()[None])
    temporal.kernel.assign(layer.temporal.kernel.numpy()[:, :, None])
    bn = layer.bn
    scale = bn.gamma.numpy() / np.sqrt(bn.moving_variance.numpy() + bn.epsilon)
    mid = np.maximum((spatial(x).numpy() - bn.moving_mean.numpy()) * scale + bn.beta.numpy(), 0.0)
    np.testing.assert_allclose(temporal(mid).numpy(), y, atol=1e-5)

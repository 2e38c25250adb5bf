"""Video augmentations: one draw per clip (frames move together), temporal jitter, absent outside training."""

import keras
import numpy as np

import mmzoo
from mmzoo.augmentation import PerClip, TemporalJitter


def _clips(batch=4, frames=5, size=6):
    rng = np.random.default_rng(0)
    return rng.random((batch, frames, size, size, 1)).astype("float32")


def test_per_clip_flip_moves_every_frame_of_a_clip_together():
    clips = _clips(batch=16)
    out = np.asarray(PerClip(keras.layers.RandomFlip("horizontal", seed=3))(clips, training=True))
    flipped = clips[:, :, :, ::-1]
    per_clip = [(o == c).all() or np.allclose(o, f) for o, c, f in zip(out, clips, flipped)]
    assert all(per_clip)  # each clip is either untouched or flipped as a whole
    changed = [not np.allclose(o, c) for o, c in zip(out, clips)]
    assert 0 < sum(changed) < len(clips)  # and the draw differs between clips


def test_temporal_jitter_shifts_whole_clips_within_range_and_keeps_the_length():
    frames = 6
    clips = np.broadcast_to(np.arange(frames, dtype="float32").reshape(1, frames, 1, 1, 1), (32, frames, 2, 2, 1))
    out = np.asarray(TemporalJitter(2, seed=1)(clips, training=True))
    assert out.shape == clips.shape
    first = out[:, :, 0, 0, 0]
    starts = first[:, 0]
    assert set(np.unique(first[:, 2] - 2)) <= {-2, -1, 0, 1, 2}
    assert len(set(starts.tolist())) > 1  # clips get different shifts
    assert (np.diff(first, axis=1) >= 0).all()  # order kept, edges repeated
    assert np.array_equal(np.asarray(TemporalJitter(2)(clips, training=False)), clips)


def test_a_video_model_with_augmentation_predicts_like_one_without():
    spec = dict(name="clip", frames=4, shape=(16, 16, 1))
    augmented = mmzoo.build_model(
        "early_fusion",
        [mmzoo.Video(**spec, augment={"flip": "horizontal", "rotation": 0.1, "temporal_jitter": 1})],
        mmzoo.Classification(3),
    )
    plain = mmzoo.build_model("early_fusion", [mmzoo.Video(**spec)], mmzoo.Classification(3))
    plain.set_weights(augmented.get_weights())
    x = {"clip": (_clips(batch=3, frames=4, size=16) * 255).astype("uint8")}
    np.testing.assert_array_equal(augmented.predict(x, verbose=0), plain.predict(x, verbose=0))
    assert augmented.get_layer("clip_augment") is not None
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(augmented.get_layer("clip_augment"))
    )
    assert [type(layer).__name__ for layer in restored.augmenters] == ["PerClip", "PerClip", "TemporalJitter"]

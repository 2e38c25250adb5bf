import pytest


@pytest.fixture(scope="session")
def hub_presets(tmp_path_factory):
    """Tiny random-weight KerasHub presets (BERT, ViT, CLIP, Whisper) written once per session, loaded by path."""
    pytest.importorskip("keras_hub")
    from tests.encoders.hub_presets import write_presets

    return write_presets(str(tmp_path_factory.mktemp("hub_presets")))

"""zoo_tour.ipynb: every architecture with its size, one summary, a few trained on the XOR task."""

from .cells import code, md, parameters

CELLS = [
    md("""
        # A tour of the mmzoo zoo

        Every registered architecture, built on the same inputs, with its parameter count; then one
        summary in full and a few trained on a task no single modality can solve.
    """),
    parameters("""
        EPOCHS = 10
        MODELS = None  # None = every architecture
    """),
    code("""
        import pandas as pd
        import mmzoo
        from mmzoo.registry import MODELS as REGISTRY
        from mmzoo.models.reference import build_reference

        names = MODELS or mmzoo.list_models()
        rows = []
        for name in names:
            meta = REGISTRY.meta(name)
            model = build_reference(name, image_size=32, seconds=0.5, vocabulary_size=2000, sequence_length=32)
            rows.append({'model': name, 'paper': meta.get('paper'), 'fuses': meta.get('fuses'),
                         'parameters': model.count_params()})
        pd.DataFrame(rows).set_index('model')
    """),
    code("""
        build_reference('mult', image_size=32, seconds=0.5, vocabulary_size=2000,
                        sequence_length=32).summary()
    """),
    md("""
        The label below is the XOR of a bit carried by the image and a bit carried by the audio:
        only a model that fuses the two can learn it.
    """),
    code("""
        from mmzoo.data.synthetic import make_xor

        x, y, inputs = make_xor(1000, ('image', 'audio'), seed=0)
        train = {k: v[:800] for k, v in x.items()}; test = {k: v[800:] for k, v in x.items()}
        scores = {}
        for name in [n for n in names if n != 'clip'][:4]:
            model = mmzoo.build_model(name, inputs, mmzoo.Classification(2), learning_rate=3e-3)
            model.fit(train, y[:800], epochs=EPOCHS, batch_size=32, verbose=0)
            scores[name] = model.evaluate(test, y[800:], return_dict=True, verbose=0)['accuracy']
        scores
    """),
]

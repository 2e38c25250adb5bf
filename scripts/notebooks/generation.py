"""generation.ipynb: a tiny image captioner: TextGeneration -> fit -> generate (samplers) -> evaluate -> export."""

from .cells import code, md, parameters

CELLS = [
    md("""
        # Text generation: images in, words out

        `mmzoo.TextGeneration` puts a Transformer decoder on top of any fusion architecture. Here a tiny
        captioner learns to name synthetic 8x8 patterns (a bar in one of four places); the same code
        captions real images, transcribes spoken digits or answers questions (docs/generation.md).
    """),
    parameters("""
        EPOCHS = 15
        EXAMPLES = 64
        OUT = 'saved_models/captioner'
    """),
    code("""
        import numpy as np
        import keras
        import tensorflow as tf
        import mmzoo

        keras.utils.set_random_seed(0)
        names = ['top bar', 'bottom bar', 'left bar', 'right bar']
        rng = np.random.default_rng(0)
        labels = np.arange(EXAMPLES) % 4
        images = rng.integers(0, 40, (EXAMPLES, 8, 8, 1)).astype('uint8')
        for i, label in enumerate(labels):
            rows, cols = [(slice(0, 2), slice(None)), (slice(6, 8), slice(None)),
                          (slice(None), slice(0, 2)), (slice(None), slice(6, 8))][label]
            images[i, rows, cols] = 255
        captions = np.array([names[i] for i in labels], dtype=object)
        captions[:4]
    """),
    md("""
        The task tokenizes the raw caption strings inside the model; `adapt` builds the vocabulary.
        `early_fusion` gives a vector, which a mapping network turns into the decoder's prefix:
    """),
    code("""
        task = mmzoo.TextGeneration(target='caption', max_length=2, units=32, num_heads=2, num_layers=1, dropout=0.0)
        task.adapt(captions)
        model = mmzoo.build_model(
            'early_fusion', [mmzoo.Image('pattern', shape=(8, 8, 1))], task=task,
            encoders={'pattern': ('cnn', {'filters': (8,), 'units': 32})}, learning_rate=1e-2,
        )
        history = model.fit({'pattern': images}, captions, epochs=EPOCHS, batch_size=16, verbose=0)
        history.history['token_accuracy'][-1]
    """),
    code("""
        print(model.generate({'pattern': images[:4]}))
        print(model.generate({'pattern': images[:4]}, sampler='beam', num_beams=2))
    """),
    md("""
        sacrebleu's BLEU-4 and chrF, exact match, and one row per example:
    """),
    code("""
        report = mmzoo.evaluate(model, ({'pattern': images}, captions))
        {k: report[k] for k in ('bleu', 'chrf', 'exact_match')}, report['per_example'][0]
    """),
    md("""
        The SavedModel's `generate` signature runs the decoding loop in the graph: raw pixels in,
        strings out, with TensorFlow alone.
    """),
    code("""
        path = mmzoo.export(model, OUT)
        generate = tf.saved_model.load(path).signatures['generate']
        generate(pattern=tf.constant(images[:4]))['text'].numpy()
    """),
]

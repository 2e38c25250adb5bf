"""quickstart.ipynb: build_model -> fit -> save -> export -> load -> predict on raw inputs."""

from .cells import code, md, parameters

CELLS = [
    md("""
        # mmzoo quickstart

        Build a multimodal model, train it with `model.fit`, save it, export a SavedModel that takes
        raw inputs, and load both back for predictions.

        The data is the small real AV-MNIST sample shipped with mmzoo: an MNIST digit image paired
        with a spoken digit (Free Spoken Digit Dataset, 8 kHz).
    """),
    parameters("""
        EPOCHS = 5
        OUT = 'saved_models/quickstart'
    """),
    code("""
        import numpy as np
        import tensorflow as tf
        import mmzoo

        splits = mmzoo.datasets.load_avmnist_sample(batch_size=64)
        splits.inputs, splits.task
    """),
    md("""
        One branch per input (in-graph preprocessing + encoder), a fusion layer, a task head:
    """),
    code("""
        model = mmzoo.build_model('early_fusion', splits.inputs, splits.task)
        model.summary()
    """),
    code("""
        history = model.fit(splits.train, validation_data=splits.validation, epochs=EPOCHS, verbose=2)
        test = model.evaluate(splits.test, return_dict=True, verbose=0)
        test
    """),
    code("""
        fig = mmzoo.plots.plot_history(history)
    """),
    md("""
        Save the Keras model and export a SavedModel whose `serve` signature takes raw pixels and waveforms:
    """),
    code("""
        import os
        os.makedirs(os.path.dirname(OUT) or '.', exist_ok=True)
        model.save(f'{OUT}.keras')
        mmzoo.export(model, OUT)
        reloaded = mmzoo.load(f'{OUT}.keras')
        serve = tf.saved_model.load(OUT).signatures['serve']
        serve.structured_input_signature
    """),
    code("""
        x, y = mmzoo.datasets.load_avmnist_sample_arrays()['test']
        x = {k: v[:8] for k, v in x.items()}
        keras_probs = reloaded.predict(x, verbose=0)
        served_probs = serve(**{k: tf.constant(v) for k, v in x.items()})['probabilities'].numpy()
        print('true     ', y[:8])
        print('predicted', served_probs.argmax(1))
        print('max |keras - savedmodel| =', np.abs(keras_probs - served_probs).max())
        assert np.abs(keras_probs - served_probs).max() < 1e-5
    """),
]

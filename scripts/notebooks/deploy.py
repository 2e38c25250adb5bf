"""deploy.ipynb: export a SavedModel (serve, serve_bytes), use it without mmzoo, TFLite/ONNX, safe loading."""

from .cells import code, md, parameters

CELLS = [
    md("""
        # Deploy: export a SavedModel and use it anywhere

        `mmzoo.export` writes a TensorFlow SavedModel that holds the whole model, preprocessing
        included, with two signatures:

        - `serve` takes the raw tensors, named like the inputs (pixels, waveforms, strings, features);
        - `serve_bytes` takes encoded files: PNG/JPEG bytes for images, WAV bytes for audio.

        A client needs TensorFlow only: no mmzoo, no Keras, no Python preprocessing. The same model can
        also go to TFLite (phones, microcontrollers) and ONNX.
    """),
    parameters("""
        EPOCHS = 3
        STEPS_PER_EPOCH = None  # None: the whole train split every epoch
        OUT = 'saved_models/deploy'
        PORTABLE_FORMATS = ['tflite', 'onnx']  # exported and run when their packages are installed
    """),
    code("""
        import json
        import os
        import subprocess
        import sys

        import numpy as np
        import tensorflow as tf
        import mmzoo

        splits = mmzoo.datasets.load_avmnist_sample(batch_size=64)
        model = mmzoo.build_model('early_fusion', splits.inputs, splits.task)
        history = model.fit(splits.train, epochs=EPOCHS, steps_per_epoch=STEPS_PER_EPOCH, verbose=2)
    """),
    md("""
        ## Export

        The folder is a standard SavedModel; `assets.extra/mmzoo.json` records the inputs, the task and
        what each signature takes.
    """),
    code("""
        os.makedirs(os.path.dirname(OUT) or '.', exist_ok=True)
        mmzoo.export(model, OUT)
        print(sorted(os.listdir(OUT)))
        with open(os.path.join(OUT, 'assets.extra', 'mmzoo.json')) as f:
            print(json.dumps(json.load(f)['signature'], indent=2))
    """),
    md("""
        TensorFlow's own `saved_model_cli` reads it too: `saved_model_cli show --dir <folder> --all` lists
        every signature (`serving_default` is `serve`) with its input names, dtypes and shapes, and
        `saved_model_cli run` calls one. Here, `serve_bytes`:
    """),
    code("""
        cli = [sys.executable, '-m', 'tensorflow.python.tools.saved_model_cli']  # = saved_model_cli
        print(subprocess.run(cli + ['show', '--dir', OUT, '--tag_set', 'serve', '--signature_def',
                                    'serve_bytes'], capture_output=True, text=True, check=True).stdout)
    """),
    md("""
        ## Use it as a client would: `tf.saved_model.load`

        `serve` on raw pixels and waveforms; the probabilities match the Keras model's:
    """),
    code("""
        loaded = tf.saved_model.load(OUT)
        serve, serve_bytes = loaded.signatures['serve'], loaded.signatures['serve_bytes']

        x, y = mmzoo.datasets.load_avmnist_sample_arrays()['test']
        pick = np.random.default_rng(0).choice(len(y), 8, replace=False)
        x, y = {k: v[pick] for k, v in x.items()}, y[pick]
        keras_probs = model.predict(x, verbose=0)
        served = serve(digit=tf.constant(x['digit']), voice=tf.constant(x['voice']))['probabilities'].numpy()
        print('true     ', y)
        print('predicted', served.argmax(1))
        print('max |keras - serve| =', np.abs(keras_probs - served).max())
        assert np.abs(keras_probs - served).max() < 1e-5
    """),
    md("""
        `serve_bytes` on the files themselves: the PNG and WAV decoding runs inside the graph (a WAV at
        another sample rate, or an image of another size, fails with an error naming the input).
    """),
    code("""
        png = [tf.io.encode_png(image).numpy() for image in x['digit']]
        wav = [tf.audio.encode_wav(clip[:, None], 8000).numpy() for clip in x['voice']]
        from_files = serve_bytes(digit=tf.constant(png), voice=tf.constant(wav))['probabilities'].numpy()
        print(f'{len(png[0])} bytes of PNG, {len(wav[0])} bytes of WAV per example')
        print('max |keras - serve_bytes| =', np.abs(keras_probs - from_files).max())
        assert np.abs(keras_probs - from_files).max() < 1e-4
    """),
    md("""
        The same in a fresh Python process where `import mmzoo` and `import keras` would fail, the way
        a serving job sees it:
    """),
    code("""
        files = {'digit': os.path.join(os.path.dirname(OUT), 'digit.png'),
                 'voice': os.path.join(os.path.dirname(OUT), 'voice.wav')}
        for name, data in (('digit', png[0]), ('voice', wav[0])):
            with open(files[name], 'wb') as f:
                f.write(data)
        CLIENT = '''
        import sys
        sys.modules['mmzoo'] = sys.modules['keras'] = None  # any import of them now fails
        import tensorflow as tf
        folder, digit, voice = sys.argv[1:]
        serve_bytes = tf.saved_model.load(folder).signatures['serve_bytes']
        probs = serve_bytes(digit=tf.constant([open(digit, 'rb').read()]),
                            voice=tf.constant([open(voice, 'rb').read()]))['probabilities'].numpy()[0]
        print('predicted', probs.argmax(), 'with probability', round(float(probs.max()), 3))
        '''
        client = subprocess.run([sys.executable, '-c', CLIENT, OUT, files['digit'], files['voice']],
                                capture_output=True, text=True)
        print(client.stdout or client.stderr[-2000:])
        print('true digit', y[0], '| in this notebook:', from_files[0].argmax())
        assert client.returncode == 0 and f'predicted {from_files[0].argmax()} ' in client.stdout
    """),
    md("""
        ## TFLite and ONNX

        These formats hold the *model core*: audio still goes in as a waveform (the log-mel is computed
        by a convolution with a fixed DFT basis, `DFTLogMel`), images as pixels, and text as token ids
        (a tokenizer contract is written beside the file; `predict_from_artifact` tokenizes strings with
        it). TFLite uses builtin ops only, so the plain LiteRT interpreter runs it.
        `mmzoo.artifacts.runtime.predict_from_artifact` runs any artifact on raw inputs.
    """),
    code("""
        import importlib.util
        from mmzoo.artifacts.runtime import predict_from_artifact

        NEEDS = {'tflite': ['ai_edge_litert'], 'onnx': ['tf2onnx', 'onnxruntime']}
        for fmt in PORTABLE_FORMATS:
            missing = [package for package in NEEDS[fmt] if importlib.util.find_spec(package) is None]
            if missing:
                print(f"{fmt}: skipped, {' and '.join(missing)} not installed "
                      f"(pip install {' '.join(p.replace('_', '-') for p in missing)})")
                continue
            path = mmzoo.export(model, f'{OUT}.{fmt}', format=fmt)
            probs = predict_from_artifact(path, x)['probabilities']
            gap = np.abs(keras_probs - probs).max()
            print(f'{fmt}: {os.path.getsize(path) / 1e6:.1f} MB, predicted {probs.argmax(1)}, '
                  f'max |keras - {fmt}| = {gap:.1e}')
            assert gap < 1e-4
    """),
    md("""
        ## Loading safely

        A SavedModel is a program. `mmzoo.load` opens the ones mmzoo exported (it finds
        `assets.extra/mmzoo.json`); any other SavedModel needs you to say that you trust it.
    """),
    code("""
        from mmzoo.artifacts.safety import UnsafeArtifactError

        print('mmzoo wrote it, so it loads:', sorted(mmzoo.load(OUT).signatures))


        class Doubler(tf.Module):  # stands for a SavedModel from somewhere else
            @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
            def __call__(self, x):
                return 2 * x


        foreign = os.path.join(os.path.dirname(OUT), 'foreign_model')
        tf.saved_model.save(Doubler(), foreign)
        try:
            mmzoo.load(foreign)
        except UnsafeArtifactError as error:
            print('refused:', error)
        else:
            raise AssertionError('a foreign SavedModel must need trust=True')
        trusted = mmzoo.load(foreign, trust=True)
        print('with trust=True:', trusted(tf.constant([1.0, 2.0])).numpy())
    """),
]

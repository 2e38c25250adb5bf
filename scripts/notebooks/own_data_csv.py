"""own_data_csv.ipynb: your own files (PNG, WAV, text) in a CSV -> mmzoo.fit in one call, then step by step."""

from .cells import code, md, parameters

CELLS = [
    md("""
        # Your own data: a CSV manifest of files

        Most multimodal data sits in folders: images, recordings, a spreadsheet of texts and labels.
        `mmzoo.fit` trains on such a CSV (one row per example, one column per input) in one call,
        inferring the inputs and the task; `mmzoo.data.from_csv` is the same pipeline step by step: a
        `tf.data.Dataset` of `({input_name: tensor}, label)`, every file checked once before training.

        This notebook first writes such a folder itself, from the AV-MNIST sample shipped with mmzoo:
        each example is a PNG of a handwritten digit, a WAV of someone saying it (8 kHz, each clip its
        own length) and a short annotator's note.
    """),
    parameters("""
        ROOT = 'my_dataset'      # the folder this notebook writes
        TRAIN_EXAMPLES = 1500
        TEST_EXAMPLES = 600
        EPOCHS = 8
    """),
    code("""
        import os
        import numpy as np
        import pandas as pd
        import tensorflow as tf
        import mmzoo
        from mmzoo.datasets.avmnist_sample import CLASS_NAMES

        arrays = mmzoo.datasets.load_avmnist_sample_arrays()
        rng = np.random.default_rng(0)
        NOTES = ['clear recording', 'quiet speaker', 'some background noise', 'thick pen stroke',
                 'slanted digit', 'checked twice']


        def write_split(split, n):
            \"\"\"Writes n PNG + WAV files of one split under ROOT and returns its manifest rows.\"\"\"
            (x, y) = arrays[split]
            rows = []
            for i in rng.permutation(len(y))[:n]:  # a random subset: the sample is sorted by digit
                image, voice = f'images/{split}_{i:04d}.png', f'audio/{split}_{i:04d}.wav'
                tf.io.write_file(os.path.join(ROOT, image), tf.io.encode_png(x['digit'][i]))
                clip = np.trim_zeros(x['voice'][i], 'b')  # the sample pads clips to 1 s; files need not
                tf.io.write_file(os.path.join(ROOT, voice), tf.audio.encode_wav(clip[:, None], 8000))
                note = str(rng.choice(NOTES))
                if rng.random() < 0.3:  # sometimes the note gives the answer away, as real notes do
                    note += f', sounds like {CLASS_NAMES[y[i]]}'
                rows.append({'digit': image, 'voice': voice, 'note': note, 'label': CLASS_NAMES[y[i]]})
            return pd.DataFrame(rows)


        for split, n in (('train', TRAIN_EXAMPLES), ('test', TEST_EXAMPLES)):
            os.makedirs(os.path.join(ROOT, 'images'), exist_ok=True)
            os.makedirs(os.path.join(ROOT, 'audio'), exist_ok=True)
            write_split(split, n).to_csv(os.path.join(ROOT, f'{split}.csv'), index=False)

        sorted(os.listdir(ROOT)), len(os.listdir(os.path.join(ROOT, 'audio')))
    """),
    md("""
        The manifest: file paths are *relative to the CSV's folder* (pass `base_dir=` to resolve them
        elsewhere), text columns hold the text itself, and each column is named like the input that
        reads it (or map names with `columns={'digit': 'image_path'}`).
    """),
    code("""
        manifest = pd.read_csv(os.path.join(ROOT, 'train.csv'))
        manifest.head()
    """),
    md("""
        ## One call

        `mmzoo.fit` reads the columns (image size and channels from the first files, sample rate and
        duration from the WAV headers, a vocabulary for the free text), takes the string labels as
        class names, holds out a stratified validation share, trains with early stopping and
        evaluates on the test file. It prints what it inferred and why, and returns a Keras model:
    """),
    code("""
        model, result = mmzoo.fit(os.path.join(ROOT, 'train.csv'), label='label',
                                  test=os.path.join(ROOT, 'test.csv'), model='gmu', epochs=EPOCHS, verbose=2)
        print(result.inputs.table())
        print(result.metrics['test'], model.class_names)
    """),
    md("""
        ## Step by step

        One spec per column. The text vocabulary is learned from the training notes, explicitly; the
        notes are short, so a bag of words (`output_mode='multi_hot'`, encoder `bow`) is enough.
    """),
    code("""
        inputs = [
            mmzoo.Image('digit', shape=(28, 28, 1)),
            mmzoo.Audio('voice', sample_rate=8000, seconds=1.0),
            mmzoo.Text('note', vocabulary_size=100, sequence_length=8, output_mode='multi_hot'),
        ]
        mmzoo.adapt(inputs, {'note': manifest['note'].to_numpy(dtype=object)})

        train, report = mmzoo.data.from_csv(os.path.join(ROOT, 'train.csv'), inputs, label='label',
                                            class_names=CLASS_NAMES, batch_size=32, shuffle=True, seed=0,
                                            cache=True, with_report=True)
        print(report.summary())
        assert report.num_examples == TRAIN_EXAMPLES and not report.problems
    """),
    md("""
        Every file was opened and decoded once: the report counts the clips zero-padded to 1 s (the
        spec's length). Longer clips would be cropped with a warning (`long_audio='error'` refuses
        them), WAVs at another rate refused unless `resample=True`, and images of another size refused
        unless `resize_images=True`.

        ## A bad row

        Real manifests have broken rows. Add one that points at a file that does not exist:
    """),
    code("""
        broken = pd.concat([manifest, pd.DataFrame([{'digit': 'images/lost_0001.png',
                                                     'voice': manifest['voice'][0],
                                                     'note': 'clear recording', 'label': CLASS_NAMES[3]}])],
                           ignore_index=True)
        broken.to_csv(os.path.join(ROOT, 'train_with_a_bad_row.csv'), index=False)

        try:
            mmzoo.data.from_csv(os.path.join(ROOT, 'train_with_a_bad_row.csv'), inputs, label='label',
                                class_names=CLASS_NAMES)
        except FileNotFoundError as error:
            print(error)
        else:
            raise AssertionError('a missing file must be an error')
    """),
    md("""
        The error names the input, the file, the row and the fix. To train anyway, `on_error='skip'`
        drops every bad row (missing, empty or corrupt files, wrong sample rates or sizes, empty texts,
        missing labels), warns with the count, and `with_report=True` lists what was dropped and why:
    """),
    code("""
        _, skipped = mmzoo.data.from_csv(os.path.join(ROOT, 'train_with_a_bad_row.csv'), inputs,
                                         label='label', class_names=CLASS_NAMES, on_error='skip',
                                         with_report=True)
        print(skipped.summary())
        print('reasons:', skipped.reasons(), '| skipped rows:', skipped.skipped_rows)
        assert skipped.num_skipped == 1 and skipped.skipped_rows == [len(broken) - 1]
    """),
    md("""
        ## Train and evaluate

        A Gated Multimodal Unit fusion (Arevalo et al. 2017) over the three inputs, each with its
        encoder chosen by name:
    """),
    code("""
        model = mmzoo.build_model('gmu', inputs, mmzoo.Classification(10, class_names=CLASS_NAMES),
                                  encoders={'digit': 'cnn', 'voice': 'cnn', 'note': 'bow'})
        history = model.fit(train, epochs=EPOCHS, verbose=2)
    """),
    code("""
        from mmzoo.plots.evaluation import plot_confusion_matrix

        test = mmzoo.data.from_csv(os.path.join(ROOT, 'test.csv'), inputs, label='label', class_names=CLASS_NAMES,
                                   batch_size=64)
        metrics = mmzoo.evaluate(model, test)
        print({k: round(v, 3) for k, v in metrics.items() if isinstance(v, float)})
        fig = plot_confusion_matrix(metrics['confusion_matrix'], CLASS_NAMES)
    """),
    md("""
        The model takes the same raw inputs the files decode to (uint8 pixels, float waveforms,
        strings), so `model.save(...)` and `mmzoo.export(...)` work as in the quickstart; the `deploy`
        notebook serves PNG and WAV bytes directly.
    """),
]

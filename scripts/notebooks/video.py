"""video.ipynb: tiny MP4 files with sound -> a video + audio model -> trained, exported, served."""

from .cells import code, md, parameters

CELLS = [
    md("""
        # Video and sound from MP4 files

        Write a few tiny MP4 clips with an audio track (PyAV, `pip install "mmzoo[video]"`), read both the
        frames and the sound of each file through one CSV column, train a video + audio model, export a
        SavedModel and serve it on frames and on GIF bytes.
    """),
    parameters("""
        CLIPS = 24
        EPOCHS = 6
        OUT = 'saved_models/video'
    """),
    code("""
        import os
        import numpy as np
        import pandas as pd
        import tensorflow as tf
        import mmzoo
        from mmzoo.data.video_write import write_video

        rate = 8000
        t = np.arange(rate // 2) / rate
        os.makedirs('clips', exist_ok=True)
        rows = []
        for i in range(CLIPS):
            label = i % 2  # 0: a square moving right, low tone; 1: moving down, high tone
            frames = np.full((8, 32, 32, 3), 90, 'uint8')
            for k in range(8):
                if label == 0:
                    frames[k, 12:20, 2 + 3 * k : 10 + 3 * k] = 255
                else:
                    frames[k, 2 + 3 * k : 10 + 3 * k, 12:20] = 255
            sound = 0.5 * np.sin(2 * np.pi * (300 + 900 * label) * t)
            write_video(f'clips/clip{i}.mp4', frames, fps=8, audio=sound, sample_rate=rate)
            rows.append({'clip': f'clip{i}.mp4', 'label': label})
        pd.DataFrame(rows).to_csv('clips/train.csv', index=False)
    """),
    md("""
        The same column feeds the `Video` and the `Audio` input. Training samples 4 of the 8 frames at a
        random offset each epoch; evaluation samples them uniformly.
    """),
    code("""
        inputs = [
            mmzoo.Video('clip', frames=4, shape=(32, 32, 3)),
            mmzoo.Audio('voice', sample_rate=rate, seconds=0.5, num_mel_bins=16),
        ]
        options = dict(label='label', columns={'voice': 'clip'}, batch_size=8)
        train = mmzoo.data.from_csv('clips/train.csv', inputs, shuffle=True, seed=0, **options)
        test = mmzoo.data.from_csv('clips/train.csv', inputs, **options)
        model = mmzoo.build_model(
            'early_fusion', inputs, mmzoo.Classification(2), learning_rate=3e-3,
            encoders={'clip': ('r2plus1d', {'filters': (8,), 'units': 16}),
                      'voice': ('cnn', {'filters': (8, 16), 'units': 16})},
        )
        model.fit(train, epochs=EPOCHS, verbose=0)
        model.evaluate(test, return_dict=True, verbose=0)
    """),
    md("""
        Export: `serve` takes frames, `serve_bytes` takes animated GIF bytes decoded in the graph.
    """),
    code("""
        mmzoo.export(model, OUT)
        served = tf.saved_model.load(OUT)
        x, y = next(iter(test))
        probabilities = served.signatures['serve'](clip=x['clip'], voice=x['voice'])['probabilities']
        print('max |keras - savedmodel| =', np.abs(probabilities - model.predict(x, verbose=0)).max())
        gif = open(write_video('clip.gif', np.full((8, 32, 32, 3), 90, 'uint8')), 'rb').read()
        wav = tf.audio.encode_wav(x['voice'][0][:, None], rate)
        served.signatures['serve_bytes'](clip=tf.constant([gif]), voice=tf.reshape(wav, [1]))['probabilities']
    """),
]

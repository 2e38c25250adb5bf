"""The zoo's accuracy table: every architecture plus unimodal baselines, N seeds, real data.

One command trains every classification/regression architecture of the zoo
(`mmzoo.list_models()` minus the retrieval-only `clip`) and one unimodal
baseline per input (the `early_fusion` builder on that input alone, same
encoder) on each dataset, for every seed; evaluates each on the test split
with `mmzoo.evaluate`; merges the runs into
`benchmarks/results/accuracy/<dataset>.json`; and regenerates
`benchmarks/RESULTS.md` and `benchmarks/accuracy.png` from all result files
(`report.py`; `notes.md` in the results folder is included verbatim).

Protocol per run: `keras.utils.set_random_seed(seed)` and the dataset's
seeded split/shuffle; AdamW with cosine decay; early stopping on the
validation loss with the best epoch's weights restored; then the test
metrics. MOSI also gets a closed-form ridge regression on the text vector
(the reference PROVENANCE.md quotes), recomputed here.

Usage, from the repository root (the full protocol takes hours on a few CPU cores):

    MMZOO_DATA=../shared/data python -m benchmarks.accuracy --seeds 5
    python -m benchmarks.accuracy --datasets mosi --seeds 5
    python -m benchmarks.accuracy --datasets avmnist_hard --models early_fusion tfn --seeds 2
    python -m benchmarks.accuracy --report-only          # rebuild RESULTS.md and the PNG

A variant of a dataset's protocol (what else was tried) is run with a name and
overrides (JSON values); it is stored in `<dataset>@<variant>.json` and listed
under the dataset in RESULTS.md, never mixed into the protocol's table:

    python -m benchmarks.accuracy --datasets mosi --variant mse --set loss=mse \\
        --models late_fusion "text only"

Example (a smoke run, as the test suite does):

    python -m benchmarks.accuracy --datasets mosi --models early_fusion --seeds 1 \\
        --epochs 2 --results-dir /tmp/acc --report /tmp/acc/RESULTS.md --plot /tmp/acc/acc.png
"""

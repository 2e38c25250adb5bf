"""`python -m mmzoo train --data CSV --label COLUMN`, or a config with a `data:` section: your own rows.

The CSV's columns become the inputs (`mmzoo.infer_inputs`), the label column
the task; `mmzoo.fit` trains and writes the run folder, to which the resolved
config (`config.yaml`, with absolute data paths) and any `export.formats` are
added. The CSVs are checked first (readable, rows, the label column), so a
mistake is named before anything is decoded.

    python -m mmzoo train --data train.csv --label category --test test.csv
    python -m mmzoo train --config experiment.yaml   # data: {csv: train.csv, label: category}
"""

import dataclasses
import os
import shutil
import time


def trains_own_data(args):
    """Whether this run trains on the user's CSV: --data, or a `data:` section in --config / --set."""
    if args.data is not None:
        return True
    from mmzoo.experiments.config import ConfigError, load_config

    try:
        return load_config(args.config, args.overrides).data is not None
    except ConfigError:
        return False  # the dataset path reports the error with its flags


def train_own_data(args):
    """`train --data CSV --label COLUMN` (or a `data:` config): `mmzoo.fit` into a run folder, then the exports.

    Args:
        args: parsed `train` arguments.

    Returns:
        The exit status 0; errors exit with a message naming the flag, key, file, column or row.
    """
    from mmzoo.experiments.config import ConfigError, config_from_args, save_config
    from mmzoo.experiments.runner import check_config, export_formats, fit_from_config
    from mmzoo.training.atomic import check_writable

    if args.strategy != "auto":
        raise SystemExit(
            "mmzoo train: --strategy applies to --dataset runs; training on --data runs on one device. Leave it out."
        )
    try:
        config = config_from_args(args)
        data = config.data
        if data is not None:  # absolute, so that the saved config repeats the run from any folder
            data = dataclasses.replace(
                data, csv=data.csv and os.path.abspath(data.csv), test=data.test and os.path.abspath(data.test)
            )
        config = check_config(dataclasses.replace(config, data=data))
    except ConfigError as error:
        raise SystemExit(f"mmzoo train: {error}") from None
    _check_own_tables(config.data, flags=args.data is not None)
    stem = os.path.splitext(os.path.basename(config.data.csv))[0]
    run = args.run_name or f"{stem}-{args.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    output_dir = os.path.join(args.output, run)
    created = not os.path.exists(output_dir)
    try:
        check_writable(output_dir, "output directory")
    except OSError as error:
        raise SystemExit(f"mmzoo train: {error.strerror or error}") from None
    start = time.time()
    try:
        model, result = fit_from_config(config, output_dir)
        paths = dict(result.paths)
        paths.update(export_formats(model, output_dir, config.export.formats))
    except (ConfigError, FileNotFoundError, ImportError, ValueError) as error:
        if created:  # leave no empty run folder behind for data that cannot be read
            shutil.rmtree(output_dir, ignore_errors=True)
        raise SystemExit(f"mmzoo train: {error}") from None
    paths["yaml"] = save_config(
        config,
        os.path.join(output_dir, "config.yaml"),
        header=f"mmzoo experiment config of run '{run}', resolved (defaults, file, flags, "
        f"--set).\nRepeat the run: python -m mmzoo train --config <this file>",
    )
    for split, metrics in result.metrics.items():
        print(f"\n{split.capitalize()} metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    print(f"Trained in {time.time() - start:.0f} s. Artifacts in {output_dir}/:")
    for name, path in paths.items():
        print(f"  {name:<10} {path}")
    print(
        f"Next: python -m mmzoo evaluate --model {output_dir} --data TEST.csv\n"
        f"      python -m mmzoo predict --model {output_dir} --data NEW.csv --output predictions.csv"
    )
    return 0


def _check_own_tables(data, flags):
    """The training and test CSVs are readable, have rows and the label column; else exits naming the file."""
    from mmzoo.cli.tables import PredictInputError, check_label, read_table

    try:
        for key, path in (("csv", data.csv), ("test", data.test)):
            if path is not None:
                what = ("--data" if key == "csv" else "--test") if flags else f"data.{key}:"
                check_label(read_table(path, what), data.label, path, "--label" if flags else "data.label:")
    except (FileNotFoundError, PredictInputError) as error:
        raise SystemExit(f"mmzoo train: {error}") from None

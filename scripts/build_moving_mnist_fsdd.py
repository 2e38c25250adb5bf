"""Builds Moving MNIST + FSDD clips (`mmzoo.datasets.moving_mnist_fsdd`) into a cache folder.

The loader builds on first use; this script builds ahead (e.g. before a
benchmark, or to inspect the clips). Reads mnist/mnist.npz and
fsdd/recordings/ from `--data-dir` (default `$MMZOO_DATA`).

Usage:
    python scripts/build_moving_mnist_fsdd.py --build CACHE_DIR [--hard] [--seed 0] [--frames 10] [--frame-size 64]
"""

import argparse

from mmzoo.datasets.moving_mnist_fsdd import CANVAS, SPLITS, load_moving_mnist_fsdd_arrays


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True, metavar="CACHE_DIR", help="folder for the built .npz files")
    parser.add_argument("--data-dir", default=None, help="folder with mnist/ and fsdd/ (default: $MMZOO_DATA)")
    parser.add_argument("--hard", action="store_true", help="the degraded variant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--frame-size", type=int, default=CANVAS)
    args = parser.parse_args(argv)
    arrays, path = load_moving_mnist_fsdd_arrays(
        args.data_dir, args.build, hard=args.hard, seed=args.seed, frames=args.frames, frame_size=args.frame_size
    )
    sizes = {name: int(len(arrays[name]["labels"])) for name in SPLITS}
    print(f"{path}: clips {sizes}, clip shape {arrays['train']['clip'].shape[1:]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""mmzoo's benchmarks, run from the repository root as modules.

    python -m benchmarks.throughput ...    # speed, memory, FLOPs vs PyTorch -> PERFORMANCE.md
    python -m benchmarks.accuracy ...      # accuracy table on real data    -> RESULTS.md, accuracy.png
    python -m benchmarks.compression ...   # size and metric per format     -> COMPRESSION.md

Each writes its measurements as JSON under `benchmarks/results/` and
regenerates its Markdown report from them (`--report-only` regenerates the
report without measuring). Benchmark-only dependencies are in
`benchmarks/requirements.txt`; the library and its tests never import this
package except the benchmark tests.
"""

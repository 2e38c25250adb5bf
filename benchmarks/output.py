"""Where a benchmark's results go: a JSON record and the Markdown report generated from it."""

import json
import os


def save(results, out, report_path, report):
    """Writes `results` to `out` (JSON) and `report(results)` to `report_path`; returns the report text."""
    text = report(results)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    with open(report_path, "w") as f:
        f.write(text)
    return text

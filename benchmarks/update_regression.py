"""Rewrite tests/data/regression.json: the baseline's summary at fixed seeds.

Run this only when a change is *meant* to change results (a new mechanism, a fixed bug, new
defaults), and say so in the commit message. An optimisation must leave the file unchanged:
`python -m pytest tests/test_regression.py` checks it.

    python benchmarks/update_regression.py
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim import CoGovernanceModel  # noqa: E402

CASES = {"classroom": 365, "city": 365}
OUT = ROOT / "tests" / "data" / "regression.json"


def main() -> None:
    data = {}
    for preset, days in CASES.items():
        data[preset] = CoGovernanceModel("baseline", seed=1, preset=preset).run(days).summary()
        print(f"{preset}: {data[preset]['cases_total']} cases, resolution rate {data[preset]['resolution_rate']:.4f}")
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

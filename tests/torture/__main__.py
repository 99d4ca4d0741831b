"""``python -m tests.torture [--kills N] [--seed S] [--keep DIR]``: a random-kill soak.

Prints the seed first and the figures last; exits 1 when an invariant was violated (the rounds
that broke one are kept for inspection, in DIR or a temporary directory that is then kept).
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from pathlib import Path

from .driver import torture


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.torture", description=__doc__)
    parser.add_argument("--kills", type=int, default=2000, help="workers to SIGKILL (default 2000)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the kill moments (default random)")
    parser.add_argument("--lanes", type=int, default=2, help="tortures side by side (default 2)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="work in this directory and keep it (default: a temporary one)")
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1 << 32)
    root = options.keep or Path(tempfile.mkdtemp(prefix="durablec-torture-"))
    figures = torture(options.kills, seed, root / "torture", options.lanes)
    if figures.violations:
        print(f"torture: evidence kept in {root}")
        return 1
    if options.keep is None:
        shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

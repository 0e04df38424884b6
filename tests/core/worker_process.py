"""A worker process for the multi-worker tests: the analytic backend registered in-process, then a real loop.

    python -m tests.core.worker_process first STORAGE STUDY OUT BUDGET CARD_DIR
    python -m tests.core.worker_process worker STORAGE STUDY OUT
"""

from __future__ import annotations

import sys
from pathlib import Path

from automl_gpt.runs.loop import run, work
from automl_gpt.testing import plugins_loaded

from . import loop_support


def main(argv: list[str]) -> None:
    mode, storage, study, out = argv[:4]
    with plugins_loaded(loop_support):
        if mode == "first":
            budget, card_dir = int(argv[4]), Path(argv[5])
            run(loop_support.data_card(card_dir), planner="random", budget=budget, seed=0, out=out, storage=storage,
                study_name=study, heartbeat_s=2, limits={"sleep_per_step": 0.06}, prune=False, batch_size=2)
        else:
            work(storage, study, out=out)


if __name__ == "__main__":
    main(sys.argv[1:])

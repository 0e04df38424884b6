"""`automl-gpt cards init` on a COCO annotation file goes through the vision plugin's draft_card hook."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml


def test_cards_init_drafts_a_coco_card(shared_data: Path, tmp_path: Path) -> None:
    bccd = shared_data / "detection" / "bccd"
    out = tmp_path / "bccd.card.yaml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "automl_gpt",
            "cards",
            "init",
            str(bccd / "annotations" / "instances_train.json"),
            "--images",
            str(bccd / "images"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    card = yaml.safe_load(out.read_text())
    assert card["task"] == "object_detection"
    assert card["label_space"] == ["RBC", "WBC", "Platelets"]
    assert card["valid"]["path"].endswith("instances_val.json")
    shown = subprocess.run(
        [sys.executable, "-m", "automl_gpt", "cards", "show", str(out)], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr

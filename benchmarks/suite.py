"""The public tabular suite of ``../shared/data/tabular``: dataset names, families and data cards.

222 PMLB datasets (119 classification, 103 regression), each a ``<name>.csv.gz`` with a ``<name>.json``
description; ``INDEX.md`` marks families of sibling datasets (same generator, or other targets/views of the same
records) that a leave-one-out must hold out together.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path

from automl_gpt.cards import DataCard

REPO = Path(__file__).resolve().parents[1]
SUITE = Path(os.environ.get("AUTOML_GPT_SHARED_DATA", REPO.parent / "shared" / "data")) / "tabular"
CLASSIFICATION = ("binary", "multiclass")


def suite_names(folder: Path = SUITE) -> list[str]:
    """Dataset names of the public tabular suite, sorted."""
    return sorted(p.name[: -len(".json")] for p in folder.glob("*.json"))


@cache
def families(folder: Path = SUITE) -> dict[str, str]:
    """Dataset name -> family (the dataset's own name when INDEX.md gives none)."""
    found: dict[str, str] = {}
    index = folder / "INDEX.md"
    if index.is_file():
        for line in index.read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 5 and cells[0] not in {"name", ""} and not set(cells[0]) <= {"-"}:
                family = re.sub(r"\s*\(.*\)$", "", cells[-1]).strip()
                if family:
                    found[cells[0]] = family
    return {name: found.get(name, name) for name in suite_names(folder)}


def describe(name: str, folder: Path = SUITE) -> dict:
    """The dataset's JSON description."""
    return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))


def pmlb_card(name: str, folder: Path = SUITE) -> DataCard:
    """The data card of one suite dataset (log-loss for classification, RMSE for regression)."""
    meta = describe(name, folder)
    source = meta["source"]
    description = f"Domain: {meta.get('domain', 'unknown')}. {meta.get('description', '')}".strip()
    common = dict(
        name=meta["name"],
        task=meta["task"],
        description=description,
        train=str((folder / meta["file"]).resolve()),
        target=meta.get("target_column", "target"),
        n_rows=int(meta["n_rows"]),
        n_features=int(meta["n_features"]),
        source_url=f"https://{source['repo']}/tree/{source['commit']}/{source['path']}",
        license=meta.get("license"),
    )
    if meta["task"] == "regression":
        return DataCard(metric="rmse", **common)
    counts = {str(k): int(v) for k, v in meta["class_counts"].items()}
    total = sum(counts.values())
    labels = sorted(counts, key=lambda k: float(k))
    return DataCard(
        metric="logloss",
        label_space=[int(float(k)) for k in labels],
        class_balance={k: round(counts[k] / total, 4) for k in labels},
        **common,
    )

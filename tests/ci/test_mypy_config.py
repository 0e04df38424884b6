"""CI's type check covers every import package of the distribution, each under its import name."""

from __future__ import annotations

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_checks_every_top_level_package_through_a_link_to_its_folder() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = {name: folder for name, folder in config["tool"]["setuptools"]["package-dir"].items() if "." not in name}
    mypy = config["tool"]["mypy"]
    assert sorted(mypy["packages"]) == sorted(folders), "add the new package to [tool.mypy] packages"
    links = ROOT / mypy["mypy_path"]
    for name, folder in folders.items():
        link = links / name
        assert link.is_symlink() and link.resolve() == (ROOT / folder).resolve(), (
            f"{link} must link to {folder} (ln -s ../../{folder} {link.relative_to(ROOT)})")

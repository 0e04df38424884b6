"""Cold-start time of ``automl-gpt plugins list`` against bare ``python -c pass``, measured in the same run.

Each command runs ``--runs`` times in fresh processes, interleaved so that machine noise hits all of them alike;
the table gives the median and the minimum, and the extra time over bare Python. Target: ``plugins list`` under
0.5 s more than bare Python with every extra installed (the script prints which plugins are available).

    python benchmarks/cli_startup.py [--runs 21] [--per-plugin] [--profile]

``--per-plugin`` times ``plugins list`` with each plugin alone (``AUTOML_GPT_LOAD_PLUGINS=<name>``) against no
plugin, to name the slow ones; ``--profile`` adds the slowest imports of ``plugins list`` (``python -X
importtime``) per top-level package, to find what to make lazy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict

TARGET_S = 0.5
CLI = [sys.executable, "-m", "automl_gpt"]
COMMANDS: dict[str, tuple[list[str], dict[str, str]]] = {
    "python -c pass": ([sys.executable, "-c", "pass"], {}),
    "automl-gpt --version": ([*CLI, "--version"], {}),
    "automl-gpt plugins list (no plugins)": ([*CLI, "plugins", "list"], {"AUTOML_GPT_LOAD_PLUGINS": ""}),
    "automl-gpt plugins list": ([*CLI, "plugins", "list"], {}),
}


def time_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure(commands: dict[str, tuple[list[str], dict[str, str]]], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = defaultdict(list)
    for argv, env in commands.values():  # warm the file cache once
        time_once(argv, env)
    for _ in range(runs):
        for name, (argv, env) in commands.items():
            times[name].append(time_once(argv, env))
    return times


def plugin_records() -> list[dict[str, str]]:
    out = subprocess.run([*CLI, "plugins", "list", "--json"], capture_output=True, text=True, check=True).stdout
    return list(json.loads(out))


def per_plugin(names: list[str], runs: int) -> None:
    """Extra time of ``plugins list`` with one plugin loaded, over ``plugins list`` with none."""
    commands = {name: ([*CLI, "plugins", "list"], {"AUTOML_GPT_LOAD_PLUGINS": name}) for name in ["", *names]}
    times = measure(commands, runs)
    base = statistics.median(times[""])
    print(f"\nper plugin ({runs} runs each): extra over 'plugins list' with no plugin ({base:.3f} s)")
    for name in names:
        print(f"  {statistics.median(times[name]) - base:7.3f} s  {name}")


def profile(top: int = 15) -> None:
    """Print the slowest imports of ``plugins list`` by package (self time) and per plugin (cumulative)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *CLI[1:], "plugins", "list"], capture_output=True, text=True, check=True
    )
    by_package: dict[str, float] = defaultdict(float)
    cumulative: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line[len("import time:") :].split("|"))
        by_package[name.split(".")[0]] += int(self_us) / 1e6
        cumulative[name] = int(cumulative_us) / 1e6
    print(f"\nslowest packages by self import time (top {top}):")
    for package, seconds in sorted(by_package.items(), key=lambda item: -item[1])[:top]:
        print(f"  {seconds * 1000:7.1f} ms  {package}")
    print("\nheavy libraries by cumulative import time (who imports them first pays):")
    for name in ("pydantic", "jsonschema", "yaml", "numpy", "pandas", "torch", "sqlite3", "importlib.metadata"):
        if name in cumulative:
            print(f"  {cumulative[name] * 1000:7.1f} ms  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--per-plugin", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    records = plugin_records()
    times = measure(COMMANDS, args.runs)
    base = statistics.median(times["python -c pass"])
    status = ", ".join(f"{r['name']}={r['status']}" for r in records)
    print(f"python {sys.version.split()[0]}, {args.runs} runs each, interleaved; plugins: {status}")
    print(f"{'command':40} {'median s':>9} {'min s':>7} {'extra s':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:40} {median:9.3f} {min(values):7.3f} {median - base:8.3f}")
    extra = statistics.median(times["automl-gpt plugins list"]) - base
    verdict = "meets" if extra < TARGET_S else "MISSES"
    print(f"plugins list costs {extra:.3f} s more than bare Python: {verdict} the {TARGET_S} s target")
    if args.per_plugin:
        per_plugin([r["name"] for r in records], max(5, args.runs // 2))
    if args.profile:
        profile()


if __name__ == "__main__":
    main()

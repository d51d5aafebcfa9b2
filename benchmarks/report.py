#!/usr/bin/env python3
"""Gather what the benchmark scripts wrote under benchmarks/results/ into one report:
report.md (every target of the benchmark issue beside the figure measured for it, and
the tables of each run) and report.png (served CPU ratios per topology, converge time
against the host count, deploys under load). Reads only; a result not produced yet is
listed as missing with the script that produces it.

Usage: benchmarks/report.py [--results benchmarks/results]
"""
import argparse
import csv
import json
from pathlib import Path

SOURCES = {
    "served-single.json": "benchmarks/run.sh",
    "served-balanced.json": "benchmarks/balanced.sh",
    "converge.csv": "benchmarks/run.sh",
    "growth.csv": "benchmarks/growth.sh",
    "deploy.csv": "benchmarks/deploy.sh",
}


def load(results):
    data = {}
    for name in SOURCES:
        path = results / name
        if not path.exists():
            continue
        if name.endswith(".json"):
            data[name] = json.loads(path.read_text())
        else:
            data[name] = list(csv.DictReader(path.open()))
    return data


def verdict(value, target):
    return "within" if value <= target else "**short**"


def targets(data):
    """(target, measured, verdict, source) rows."""
    rows = []
    for topology in ("single", "balanced"):
        served = data.get(f"served-{topology}.json")
        if not served:
            continue
        for r in served["ratios"]:
            if r["target"] is not None:
                rows.append((f"{r['ratio']} ({topology}) ≤ {r['target']}x", f"{r['value']:.2f}x",
                             verdict(r["value"], r["target"]), f"served-{topology}.md"))
    growth = data.get("growth.csv")
    if growth:
        last = max(growth, key=lambda r: int(r["hosts"]))
        ratio = float(last["warm_over_ping"])
        rows.append((f"warm re-converge / ping round, largest topology ({last['hosts']} hosts) ≤ 3x",
                     f"{ratio:.1f}x", verdict(ratio, 3.0), "growth.md"))
    deploy = data.get("deploy.csv")
    if deploy:
        sent = sum(int(r["requests"]) for r in deploy)
        failed = sum(int(r["failed"]) for r in deploy)
        rows.append(("failed requests during rolling deploys and rollbacks = 0",
                     f"{failed} of {sent}", "within" if failed == 0 else "**short**", "deploy.md"))
    return rows


def markdown(results, data):
    lines = ["# ntier.django benchmarks: report", "",
             "Every figure is a ratio of two measurements taken side by side in one run on this "
             "machine (see README, Benchmarks); absolute numbers move with the machine.", "",
             "## Targets", "", "| target | measured | | from |", "|---|---|---|---|"]
    lines += [f"| {t} | {m} | {v} | {s} |" for t, m, v, s in targets(data)]
    missing = [f"`{n}` (run `{s}`)" for n, s in SOURCES.items() if n not in data]
    if missing:
        lines += ["", "Not measured yet: " + ", ".join(missing) + "."]
    for name in ("served-single.md", "served-balanced.md", "converge.md", "growth.md", "deploy.md"):
        path = results / name
        if path.exists():
            text = path.read_text().strip().splitlines()
            lines += ["", "#" + text[0]] + text[1:]   # each run's own title, one level down
    return "\n".join(lines) + "\n"


def short(ratio):
    """'static file: stack / bare nginx' -> 'static file\n(bare nginx)'."""
    case, _, against = ratio.partition(": ")
    if not against:  # "cached page / health endpoint (stack)"
        case, _, against = ratio.partition(" / ")
        against = against.replace(" (stack)", "")
    return f"{case}\n(vs {against.replace('stack / ', '')})"


def plot(data, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    a, b, c = axes
    served = [(t, data[f"served-{t}.json"]) for t in ("single", "balanced") if f"served-{t}.json" in data]
    if served:
        labels = [short(r["ratio"]) for r in served[0][1]["ratios"]]
        width = 0.8 / len(served)
        for i, (topology, s) in enumerate(served):
            xs = [x + i * width for x in range(len(labels))]
            a.bar(xs, [r["value"] for r in s["ratios"]], width, label=topology)
        for x, r in enumerate(served[0][1]["ratios"]):
            if r["target"] is not None:
                a.hlines(r["target"], x - 0.1, x + 0.9, colors="red", linestyles="dashed")
        a.set_xticks([x + 0.4 - width / 2 for x in range(len(labels))])
        a.set_xticklabels(labels, fontsize=7, rotation=20)
        a.set_ylabel("CPU per request, ratio (red: target)")
        a.set_title("served stack")
        a.legend()
    growth = data.get("growth.csv")
    if growth:
        x = [int(r["hosts"]) for r in growth]
        b.plot(x, [float(r["warm_median"]) for r in growth], "o-", label="warm re-converge")
        b.plot(x, [float(r["ping_median"]) for r in growth], "s-", label="ping round")
        b.plot(x, [3 * float(r["ping_median"]) for r in growth], "r--", label="target: 3x ping")
        b.set_xticks(x)
        b.set_xlabel("hosts")
        b.set_ylabel("seconds")
        b.set_title("converge time")
        b.legend()
    deploy = data.get("deploy.csv")
    if deploy:
        names = [r["run"] for r in deploy]
        build = [max(float(r["build_s"]), 0.0) for r in deploy]
        c.bar(names, build, label="build (all nodes)")
        c.bar(names, [2 * float(r["switch_per_node_s"]) for r in deploy], bottom=build, label="switch (2 nodes)")
        for i, r in enumerate(deploy):
            c.text(i, 2, f"{r['failed']} failed\nof {r['requests']}", ha="center", fontsize=7, color="white")
        c.set_ylabel("seconds")
        c.set_title("deploy under load")
        c.tick_params(axis="x", rotation=30)
        c.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default=str(Path(__file__).resolve().parent / "results"))
    results = Path(ap.parse_args().results)
    data = load(results)
    text = markdown(results, data)
    (results / "report.md").write_text(text)
    try:
        plot(data, results / "report.png")
    except ImportError:
        pass
    print(text)


if __name__ == "__main__":
    main()

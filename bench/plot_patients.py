"""Plot a few simulated patients of a 1,000-patient run, to check the physiology by eye.

    .venv/bin/python -m bench.plot_patients [--patients 1000] [--hours 12]

Writes bench/results/patients.png: one column per patient (two stable, and one of each
deterioration scenario when present), rows heart rate, respiratory rate, SpO2, blood pressure
and temperature, with the scenario onset marked.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from producer.hospital import Simulator  # noqa: E402
from producer.physiology import HOUR_MS  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "patients.png"
START = 1_795_000_000_000
ROWS = (("heart_rate", "HR /min"), ("respiratory_rate", "RR /min"), ("spo2", "SpO2 %"),
        ("systolic_bp", "BP mmHg"), ("temperature_c", "Temp °C"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=12)
    args = ap.parse_args()
    sim = Simulator(args.patients, 5, seed=21, start_ms=START)
    series: dict[str, list[dict]] = defaultdict(list)
    for e in sim.events(START + int(args.hours * HOUR_MS)):
        if e["type"] == "vitals":
            series[e["patient_id"]].append(e)
    truth = {g["patient_id"]: g for g in sim.ground_truth() if g["onset_ms"] < START + args.hours * HOUR_MS}
    chosen: list[tuple[str, str]] = []
    for kind in ("sepsis", "haemorrhage", "respiratory_failure", "arrhythmia"):
        pid = next((p for p, g in truth.items() if g["scenario"] == kind and len(series[p]) > 200), None)
        if pid:
            chosen.append((pid, kind))
    stable = [p for p in series if p not in truth and len(series[p]) > 200]
    chosen = [(stable[0], "stable"), (stable[1], "stable")] + chosen
    fig, axes = plt.subplots(len(ROWS), len(chosen), figsize=(4 * len(chosen), 11), sharex=True, squeeze=False)
    for col, (pid, kind) in enumerate(chosen):
        rows = series[pid]
        unit = rows[0]["unit"]
        for r, (field, label) in enumerate(ROWS):
            ax = axes[r][col]
            pts = [((e["ts"] - START) / HOUR_MS, e[field]) for e in rows if field in e]
            if pts:
                ax.plot(*zip(*pts, strict=True), ".", ms=2)
            if field == "systolic_bp":
                dia = [((e["ts"] - START) / HOUR_MS, e["diastolic_bp"]) for e in rows if "diastolic_bp" in e]
                if dia:
                    ax.plot(*zip(*dia, strict=True), ".", ms=2)
            if pid in truth:
                ax.axvline((truth[pid]["onset_ms"] - START) / HOUR_MS, color="red", lw=0.8)
            if col == 0:
                ax.set_ylabel(label)
            if r == 0:
                ax.set_title(f"{pid} {unit}\n{kind}", fontsize=9)
        axes[-1][col].set_xlabel("hours")
    fig.tight_layout()
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=80)
    print(f"written {OUT}: {', '.join(f'{p} ({k})' for p, k in chosen)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes examples/data/seed.csv: a synthetic binary-classification table for the seed workflow.

768 rows, 8 numeric features that look like clinical measurements, and a 0/1 `label` drawn from
a logistic model of the standardized features, so that the best possible accuracy is about 78 %
(like the classic diabetes screening sets, but every value here is made up by this script).
A dozen cells are left missing (empty, `NA` or `?`) so that dropping missing rows matters.

Run once from the repository root:  python3 examples/data/generate_seed.py
The output is deterministic (Python's `random` with a fixed seed).
"""

import math
import random
from pathlib import Path

ROWS = 768
SEED = 20240611
OUT = Path(__file__).with_name("seed.csv")

rng = random.Random(SEED)


def clip(v, lo, hi):
    return max(lo, min(hi, v))


def row():
    age = clip(21 + rng.expovariate(1 / 12.0), 21, 81)
    visits = clip(int(rng.expovariate(1 / 3.5) * (0.6 + age / 60)), 0, 17)
    glucose = clip(rng.gauss(118, 30), 44, 199)
    pressure = clip(rng.gauss(69 + 0.15 * (age - 33), 12), 24, 122)
    bmi = clip(rng.gauss(32, 7), 18, 67)
    skinfold = clip(0.9 * (bmi - 32) + rng.gauss(23, 8), 7, 99)
    insulin = clip(math.exp(rng.gauss(4.5, 0.7)) + 0.6 * (glucose - 118), 14, 846)
    pedigree = clip(rng.gammavariate(2.0, 0.23), 0.078, 2.42)
    # Standardized contributions; the linear predictor's spread sets the attainable accuracy.
    z = (
        1.40 * (glucose - 118) / 30
        + 0.70 * (bmi - 32) / 7
        + 0.45 * (age - 33) / 12
        + 0.25 * (visits - 4) / 3.5
        + 0.30 * (pedigree - 0.46) / 0.32
        + 0.10 * (insulin - 120) / 90
        - 0.05 * (pressure - 69) / 12
        - 0.80
    )
    p = 1 / (1 + math.exp(-z))
    label = 1 if rng.random() < p else 0
    cells = [
        str(visits),
        str(round(glucose)),
        str(round(pressure)),
        str(round(skinfold)),
        str(round(insulin)),
        f"{bmi:.1f}",
        f"{pedigree:.3f}",
        str(round(age)),
        str(label),
    ]
    return cells, p, label


def main():
    header = ["visits", "glucose", "pressure", "skinfold", "insulin", "bmi", "pedigree", "age", "label"]
    rows, bayes = [], 0
    for _ in range(ROWS):
        cells, p, label = row()
        bayes += (p >= 0.5) == (label == 1)
        rows.append(cells)
    # Knock out 12 cells in distinct rows (never the label), with the usual spellings.
    for k, i in enumerate(rng.sample(range(ROWS), 12)):
        j = rng.randrange(8)
        rows[i][j] = ["", "NA", "?"][k % 3]
    with OUT.open("w", newline="") as f:
        f.write(",".join(header) + "\n")
        for cells in rows:
            f.write(",".join(cells) + "\n")
    positives = sum(r[-1] == "1" for r in rows)
    print(f"wrote {OUT}: {ROWS} rows, {positives} positive, Bayes accuracy {bayes / ROWS:.3f}")


if __name__ == "__main__":
    main()

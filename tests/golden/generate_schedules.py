"""Writes tests/golden/schedules.json: learning rates of Keras 3's schedules (on JAX, float32)
at many steps, for tests/training/schedules.rs. Run: python3 generate_schedules.py (needs
`pip install keras jax`)."""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402

S = keras.optimizers.schedules
STEPS = [0, 1, 2, 3, 5, 9, 10, 11, 19, 20, 21, 49, 50, 51, 99, 100, 101, 150, 999, 1000, 12345]
CASES = [
    ("exponential", S.ExponentialDecay(0.1, 10, 0.5), {"kind": "exponential_decay", "initial": 0.1, "decay_steps": 10, "rate": 0.5, "staircase": False}),
    ("exponential_staircase", S.ExponentialDecay(0.1, 10, 0.5, staircase=True), {"kind": "exponential_decay", "initial": 0.1, "decay_steps": 10, "rate": 0.5, "staircase": True}),
    ("inverse_time", S.InverseTimeDecay(0.1, 20, 0.5), {"kind": "inverse_time_decay", "initial": 0.1, "decay_steps": 20, "rate": 0.5, "staircase": False}),
    ("inverse_time_staircase", S.InverseTimeDecay(0.1, 20, 0.5, staircase=True), {"kind": "inverse_time_decay", "initial": 0.1, "decay_steps": 20, "rate": 0.5, "staircase": True}),
    ("polynomial", S.PolynomialDecay(0.1, 100, 0.001, power=2.0), {"kind": "polynomial_decay", "initial": 0.1, "decay_steps": 100, "end": 0.001, "power": 2.0, "cycle": False}),
    ("polynomial_cycle", S.PolynomialDecay(0.1, 50, 0.01, power=1.0, cycle=True), {"kind": "polynomial_decay", "initial": 0.1, "decay_steps": 50, "end": 0.01, "power": 1.0, "cycle": True}),
    ("cosine", S.CosineDecay(0.1, 100, alpha=0.1), {"kind": "cosine_decay", "initial": 0.1, "decay_steps": 100, "alpha": 0.1}),
    ("cosine_warmup", S.CosineDecay(0.0, 100, alpha=0.0, warmup_target=0.2, warmup_steps=20), {"kind": "cosine_decay", "initial": 0.0, "decay_steps": 100, "alpha": 0.0, "warmup_target": 0.2, "warmup_steps": 20}),
    ("piecewise", S.PiecewiseConstantDecay([10, 50, 100], [0.1, 0.05, 0.01, 0.001]), {"kind": "piecewise_constant_decay", "boundaries": [10, 50, 100], "values": [0.1, 0.05, 0.01, 0.001]}),
]
out = {
    "generator": f"keras {keras.__version__} on {keras.backend.backend()}",
    "note": "learning rate of each schedule at each step (Keras's `iterations`, counting from 0), float32",
    "steps": STEPS,
    "cases": [],
}
for name, schedule, config in CASES:
    values = [float(np.asarray(schedule(np.int64(s)), dtype=np.float32)) for s in STEPS]
    out["cases"].append({"name": name, "config": config, "values": values})
with open(os.path.join(os.path.dirname(__file__), "schedules.json"), "w") as f:
    json.dump(out, f, indent=1)
print("wrote", len(out["cases"]), "cases")

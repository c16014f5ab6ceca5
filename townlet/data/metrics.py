"""Per-sample replay metrics and their ``baseline_*`` aggregate (DESIGN §8.4).

The older system stores a small dict of numbers per sample (in the capture's metrics file and in
each sidecar) and PPO telemetry reports their aggregate as ``baseline_*`` keys, so that drift
between a policy and the data it was trained on can be seen. numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# Keys with these endings are totals: they add up across samples, and also report their mean.
_SUMMED_SUFFIXES: tuple[str, ...] = ("_sum", "_total")


def numeric_metrics(raw: Any) -> dict[str, float]:
    """Keep the finite numbers of a metrics mapping; anything else is not a metric.

    Bools are skipped too: JSON ``true`` is a flag, not a quantity to average.
    """
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, float] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            out[str(key)] = float(value)
    return out


def aggregate_baseline(per_sample_metrics: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Aggregate per-sample metrics into ``baseline_*`` keys.

    ``baseline_sample_count`` counts the samples that carry metrics. A key ending in ``_sum`` or
    ``_total`` becomes ``baseline_<key>`` (the sum) and ``baseline_<key>_mean`` (the sum over
    the samples that carry it, divided by their number); any other key becomes
    ``baseline_<key>``, its mean. Returns ``{}`` when no sample carries metrics, so telemetry
    can leave the optional keys out.
    """
    carrying = [metrics for metrics in per_sample_metrics if metrics]
    if not carrying:
        return {}
    values: dict[str, list[float]] = {}
    for metrics in carrying:
        for key, value in metrics.items():
            values.setdefault(key, []).append(float(value))
    out: dict[str, float] = {"baseline_sample_count": float(len(carrying))}
    for key in sorted(values):
        # math.fsum keeps the result independent of sample order, so plans agree exactly.
        total = math.fsum(values[key])
        mean = total / len(values[key])
        if key.endswith(_SUMMED_SUFFIXES):
            out[f"baseline_{key}"] = total
            out[f"baseline_{key}_mean"] = mean
        else:
            out[f"baseline_{key}"] = mean
    return out


def summarise_sample(
    arrays: Mapping[str, np.ndarray], feature_names: Sequence[str]
) -> dict[str, float]:
    """The per-sample metrics the older capture tool writes, computed from canonical arrays.

    Same keys and meaning as the upstream ``rollout_sample_metrics.json`` (the JSON-payload
    action counters aside, which only exist for the older action format).
    """
    rewards = arrays["rewards"].astype(np.float64)
    actions = arrays["actions"]
    _, counts = np.unique(actions, return_counts=True)
    shares = counts / counts.sum()
    out = {
        "timesteps": float(actions.shape[0]),
        "reward_sum": float(rewards.sum()),
        "reward_mean": float(arrays["rewards"].mean()),
        "log_prob_mean": float(arrays["old_log_probs"].mean()),
        "value_pred_last": float(arrays["value_preds"][-1]),
        "action_nonzero": float(np.count_nonzero(counts)),
        "action_total": float(actions.shape[0]),
        # + 0.0 turns the -0.0 of a single action into 0.0 (IEEE: -0.0 + 0.0 == +0.0).
        "action_entropy": float(-(shares * np.log(shares)).sum()) + 0.0,
    }
    features = arrays["features"]
    for name in ("rivalry_max", "rivalry_avoid_count"):
        if name in feature_names:
            column = features[:, list(feature_names).index(name)]
            out[f"{name}_mean"] = float(column.mean())
            out[f"{name}_max"] = float(column.max())
    if "lateness_counter" in feature_names:
        out["lateness_mean"] = float(
            features[:, list(feature_names).index("lateness_counter")].mean()
        )
    return out

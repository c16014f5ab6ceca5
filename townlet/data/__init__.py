"""Replay data: sample files, manifests, metrics and batch plans (DESIGN §8).

Everything importable from here is numpy-only, so operator tools and the sim can use the format
code with torch absent (DESIGN §2). The Lightning datamodules live in ``townlet.data.replay``
(and ``rollout``, ``mixed``, ``bc``) and are imported from there, never re-exported here.
"""

from __future__ import annotations

from pathlib import Path

from townlet.data.batching import ReplayBatches
from townlet.data.manifest import ManifestEntry, load_manifest
from townlet.data.metrics import aggregate_baseline, summarise_sample
from townlet.data.sample import ReplaySample, load_sample, save_sample
from townlet.sim.constants import ACTION_NAMES

# The live discrete action space of DESIGN §9.7 (the simulation's), shared by every scenario.
# Replay data may hold fewer action ids (the older system's captures use 0..3), but a policy
# trained on it must still be able to act in the live town, so the action count never drops
# below this.
LIVE_ACTION_COUNT: int = len(ACTION_NAMES)

# The small dataset shipped with the package (scripts/make_embedded_replay.py writes it), so
# `data=replay` works right after installation with nothing else on disk.
EMBEDDED_MANIFEST: Path = Path(__file__).resolve().parent / "embedded" / "replay_manifest.json"

__all__ = [
    "ACTION_NAMES",
    "EMBEDDED_MANIFEST",
    "LIVE_ACTION_COUNT",
    "ManifestEntry",
    "ReplayBatches",
    "ReplaySample",
    "aggregate_baseline",
    "load_manifest",
    "load_sample",
    "save_sample",
    "summarise_sample",
]

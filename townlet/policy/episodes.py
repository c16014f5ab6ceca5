"""Play whole episodes of a scenario with one policy and score them (DESIGN §13), numpy only.

``play_episodes`` runs ``towns`` fresh towns (town i seeded ``seed + i``) for exactly
``scenario.ticks`` ticks without auto-reset, so every town plays one whole episode, and returns
an :class:`EpisodeReport`: the charter KPIs over every agent-day of every town, the mean
per-agent episode return and length, and a per-agent breakdown summed over the towns (every
town has the same agents, so agent ids are the natural rows).

The policy is anything shaped like a probe, ``(env, obs, rng) -> actions``; torch policies are
wrapped into that shape by :mod:`townlet.policy.evaluate`. An optional :class:`TickObserver`
(e.g. :class:`townlet.render.trace.TraceRecorder`) sees the env before the first tick and after
every tick; it only reads, so the report is the same with or without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from townlet.policy.probes import Probe
from townlet.sim import Scenario, TownVecEnv
from townlet.sim.constants import CHAT, KPI_COUNTERS, KPI_EVENT_KEYS
from townlet.sim.kpi import kpi_metrics

CHAT_EVENT_KEYS = ("chat_success_events", "chat_failure_events")  # one per speaker per chat


class TickObserver(Protocol):
    """Reads the towns while :func:`play_episodes` steps them (defined here, so ``policy/``
    need not import whoever implements it)."""

    def start(self, env: TownVecEnv) -> None:
        """Called once after the reset, before the first tick."""

    def after_step(
        self, env: TownVecEnv, actions: np.ndarray, terminated: np.ndarray, info: dict[str, Any]
    ) -> None:
        """Called after every tick with the [T, A] actions taken and terminations."""


@dataclass
class EpisodeReport:
    """What one policy did over one whole episode in each town."""

    agent_ids: tuple[str, ...]  # the same in every town
    towns: int
    seed: int
    ticks: int
    ticks_per_day: int
    returns: np.ndarray  # [T, A] episode return of each agent (rewards while alive)
    lengths: np.ndarray  # [T, A] ticks at whose start the agent was alive
    kpi_days: np.ndarray  # [T, A, K] per-agent KPI counters of every completed agent-day
    chat_actions: np.ndarray  # [T, A] ticks the agent chose to chat while alive
    events: dict[str, float]  # KPI and chat event counts summed over ticks and towns

    def summary(self) -> dict[str, float]:
        """The §13 keys, ``episode_return``, ``episode_length``, ``days``, ``agent_days`` and
        ``chats_per_agent_day`` (chats that happened, successful or not)."""
        counts = {key: self.events.get(key, 0.0) for key in KPI_EVENT_KEYS}
        metrics = kpi_metrics(counts)
        agent_days = metrics.get("agent_days", 0.0)
        chats = sum(self.events.get(key, 0.0) for key in CHAT_EVENT_KEYS)
        return {
            **metrics,
            "episode_return": float(self.returns.mean()),
            "episode_length": float(self.lengths.mean()),
            "days": self.ticks / self.ticks_per_day,
            "agent_days": agent_days,
            "chats_per_agent_day": chats / agent_days if agent_days > 0 else 0.0,
        }

    def per_agent(self) -> dict[str, dict[str, float]]:
        """Per agent id, over all towns: mean return and length, summed KPI counters and chat
        actions, and the agent's own KPI rates (its conflicts counted as a party to each)."""
        counters = self.kpi_days.sum(axis=0)  # [A, K]
        rows: dict[str, dict[str, float]] = {}
        for a, agent in enumerate(self.agent_ids):
            counts = {name: float(counters[a, k]) for k, name in enumerate(KPI_COUNTERS)}
            rates = {k: v for k, v in kpi_metrics(counts).items() if k != "agent_days"}
            rows[agent] = {
                "episode_return": float(self.returns[:, a].mean()),
                "episode_length": float(self.lengths[:, a].mean()),
                **counts,
                "chat_actions": float(self.chat_actions[:, a].sum()),
                **rates,
            }
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The summary plus the per-agent breakdown under ``agents`` (JSON-ready)."""
        return {**self.summary(), "agents": self.per_agent()}


def play_episodes(
    scenario: Scenario,
    policy: Probe,
    towns: int,
    seed: int,
    observer: TickObserver | None = None,
) -> EpisodeReport:
    """One whole episode in each of ``towns`` towns (town i seeded ``seed + i``) with ``policy``.

    The probe's numpy generator is seeded with ``seed`` too, so a run is reproducible.
    ``observer`` (optional) is shown the env before the first tick and after each one.
    """
    env = TownVecEnv(scenario, num_towns=towns, seed=seed, auto_reset=False)
    obs = env.reset(seed)
    rng = np.random.default_rng(seed)
    shape = (towns, env.num_agents)
    returns = np.zeros(shape, np.float64)
    lengths = np.zeros(shape, np.int64)
    chat_actions = np.zeros(shape, np.int64)
    kpi_days = np.zeros((*shape, len(KPI_COUNTERS)), np.float64)
    events = dict.fromkeys((*KPI_EVENT_KEYS, *CHAT_EVENT_KEYS), 0.0)
    if observer is not None:
        observer.start(env)
    for _ in range(env.scenario.ticks):
        actions = np.asarray(policy(env, obs, rng), dtype=np.int64)
        obs, rewards, terminated, _, info = env.step(actions)
        if observer is not None:
            observer.after_step(env, actions, terminated, info)
        active = info["active"]
        returns += np.where(active, rewards, 0.0)
        lengths += active
        chat_actions += active & (actions == CHAT)
        for key in events:
            events[key] += float(np.sum(info["events"][key]))
        if info["kpi_days"] is not None:
            kpi_days += info["kpi_days"]
    return EpisodeReport(
        agent_ids=env.agent_ids,
        towns=towns,
        seed=seed,
        ticks=env.scenario.ticks,
        ticks_per_day=env.scenario.ticks_per_day,
        returns=returns,
        lengths=lengths,
        kpi_days=kpi_days,
        chat_actions=chat_actions,
        events=events,
    )

"""Pydantic schema of a scenario file (DESIGN §9.11): one model per block, unknown keys refused.

Only single-field bounds live here; rules that relate fields (positions on the grid, known jobs,
known object types) are checked by :mod:`townlet.sim.scenario_loader`, which can name the file
and the field in its one-line error.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Position = tuple[int, int]


class _Block(BaseModel):
    # inf and nan pass every bound check (inf >= 0) and would poison the simulation's arithmetic.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class GridSpec(_Block):
    width: int = Field(24, ge=1, le=256)
    height: int = Field(24, ge=1, le=256)
    walls: list[Position] = Field(default_factory=list)  # impassable tiles, as [x, y]


class ObjectSpec(_Block):
    id: str
    type: str  # one of constants.OBJECT_TYPES (checked by the loader, with the file named)
    position: Position
    capacity: int = Field(1, ge=1, le=16)  # agents that can hold it at once
    stock: int = Field(0, ge=0)  # meals in a fridge; also the level a restock refills to


class NeedLevels(_Block):
    hunger: float = Field(1.0, ge=0.0, le=1.0)
    hygiene: float = Field(1.0, ge=0.0, le=1.0)
    energy: float = Field(1.0, ge=0.0, le=1.0)


class Personality(_Block):
    extroversion: float = Field(0.0, ge=-1.0, le=1.0)  # chat quality and readiness to chat
    ambition: float = Field(0.0, ge=-1.0, le=1.0)  # scales how early the agent leaves for work


class ScheduleEntry(_Block):
    """Ticks [start, end) of the episode in which the agent takes ``action`` instead of the
    scripted controller's choice (a masked scheduled action falls back to the controller)."""

    start: int = Field(ge=0)
    end: int = Field(ge=1)
    action: str  # a name of constants.ACTION_NAMES


class AgentSpec(_Block):
    id: str
    position: Position
    needs: NeedLevels = Field(default_factory=NeedLevels)
    wallet: float = 1.0
    job: str | None = None
    personality: Personality = Field(default_factory=Personality)
    schedule: list[ScheduleEntry] = Field(default_factory=list)


class JobSpec(_Block):
    start_tick: int = Field(ge=0)  # within a day of ticks_per_day, so shifts repeat daily
    end_tick: int = Field(ge=1)
    location: Position
    wage_rate: float = Field(0.02, ge=0.0)  # paid per on-site shift tick
    lateness_penalty: float = Field(0.1, ge=0.0)  # charged once per late shift


class QueueFairness(_Block):
    cooldown_ticks: int = Field(60, ge=0)
    ghost_step_after: int = Field(3, ge=1)
    age_priority_weight: float = Field(0.1, ge=0.0)
    # false: only a holder not running its affordance can be ghost-stepped, so a sleep is never
    # cut short (DESIGN §13); true: the older rule, kept by the scenarios that exist to show
    # ghost steps (queue_conflict, rivalry_decay)
    evict_running: bool = False


class RivalrySpec(_Block):
    increment_per_conflict: float = Field(0.15, ge=0.0)
    decay_per_tick: float = Field(0.005, ge=0.0)
    eviction_threshold: float = Field(0.05, ge=0.0, le=1.0)
    max_edges: int = Field(6, ge=1)
    avoid_threshold: float = Field(0.7, ge=0.0, le=1.0)
    ghost_step_boost: float = Field(1.5, ge=0.0)
    handover_boost: float = Field(0.4, ge=0.0)
    queue_length_boost: float = Field(0.25, ge=0.0)


class ConflictSpec(_Block):
    rivalry: RivalrySpec = Field(default_factory=RivalrySpec)
    tie_rivalry_decay: float = Field(0.01, ge=0.0)  # per tick, on the relationship ties


class EmploymentSpec(_Block):
    grace_ticks: int = Field(5, ge=0)
    absent_cutoff: int = Field(30, ge=0)
    late_tick_penalty: float = Field(0.005, ge=0.0)
    absence_penalty: float = Field(0.2, ge=0.0)
    attendance_window: int = Field(3, ge=1)


class NeedWeights(_Block):
    hunger: float = Field(1.0, ge=0.0)
    hygiene: float = Field(0.6, ge=0.0)
    energy: float = Field(0.8, ge=0.0)


class SocialRewards(_Block):
    chat_success: float = Field(0.01, ge=0.0)  # times chat quality, to speaker and listener
    chat_failure: float = Field(0.01, ge=0.0)  # subtracted from the speaker
    avoid_rival: float = Field(0.005, ge=0.0)  # for a step that widens the gap to a rival


class RewardsSpec(_Block):
    survival_tick: float = 0.002
    needs_weights: NeedWeights = Field(default_factory=NeedWeights)
    punctuality_bonus: float = Field(0.05, ge=0.0)
    wage_weight: float = Field(1.0, ge=0.0)
    social: SocialRewards = Field(default_factory=SocialRewards)
    # per tick and per need at or below the KPI floor (0.3, DESIGN §13): K1 as a dense signal
    need_floor_penalty: float = Field(0.0, ge=0.0)
    clip_per_tick: float = Field(0.2, gt=0.0)
    faint_penalty: float = Field(-1.0, le=0.0)
    eviction_penalty: float = Field(-2.0, le=0.0)
    # paid at a day's end to each agent whose day met K1 (alive, every need above the KPI floor
    # at every tick; DESIGN §13), outside the per-tick clip like the terminal penalties
    self_sufficient_day: float = Field(0.0, ge=0.0)
    # paid when a shift's grace period ends to a job holder who arrived on time (K2), outside
    # the per-tick clip, in the same living_well term
    on_time_shift: float = Field(0.0, ge=0.0)


class BehaviorSpec(_Block):
    hunger_threshold: float = Field(0.4, ge=0.0, le=1.0)
    hygiene_threshold: float = Field(0.35, ge=0.0, le=1.0)
    energy_threshold: float = Field(0.3, ge=0.0, le=1.0)
    job_arrival_buffer: int = Field(20, ge=0)
    chat_interval: int = Field(10, ge=1)
    friend_threshold: float = 0.0  # trust + familiarity above which a neighbour is a friend


class NeedRates(_Block):
    hunger: float = Field(0.01, ge=0.0)
    hygiene: float = Field(0.005, ge=0.0)
    energy: float = Field(0.008, ge=0.0)


class NeedsSpec(_Block):
    decay: NeedRates = Field(default_factory=NeedRates)
    faint_threshold: float = Field(0.03, ge=0.0, le=1.0)


class EconomySpec(_Block):
    meal_cost: float = Field(0.4, ge=0.0)
    ingredients_cost: float = Field(0.15, ge=0.0)
    shower_cost: float = Field(0.2, ge=0.0)
    restock_interval: int = Field(0, ge=0)  # ticks between fridge refills to their stock; 0 = off
    max_debt: float = Field(1.0, ge=0.0)  # an agent whose wallet falls below -max_debt is evicted


class AffordanceTicks(_Block):
    eat_meal: int = Field(15, ge=1)
    cook_meal: int = Field(40, ge=1)
    use_shower: int = Field(30, ge=1)
    rest_sleep: int = Field(60, ge=1)


class OutageSpec(_Block):
    kind: Literal["power", "water"]
    start: int = Field(ge=1)  # episode tick at which the utility goes off
    duration: int = Field(ge=1)


class PerturbationSpec(_Block):
    outages: list[OutageSpec] = Field(default_factory=list)
    outage_chance: float = Field(0.0, ge=0.0, le=1.0)  # per tick and town, a random power cut
    outage_duration: int = Field(20, ge=1)


class SocialSpec(_Block):
    # A speaker may chat again only this many ticks after its last chat (DESIGN §13: the world,
    # not only the scripted controller, rate-limits chat, so its reward cannot be farmed).
    chat_cooldown: int = Field(10, ge=1)


class Scenario(_Block):
    """A whole world: layout, population, jobs and every rule parameter."""

    name: str | None = None
    description: str = ""
    seed: int = 0
    ticks: int = Field(ge=1)  # episode length; reaching it truncates the town
    ticks_per_day: int = Field(1440, ge=1)
    num_towns: int = Field(1, ge=1)
    observation_variant: str = "hybrid"  # hybrid, full or compact
    grid: GridSpec = Field(default_factory=GridSpec)
    objects: list[ObjectSpec] = Field(default_factory=list)
    agents: list[AgentSpec] = Field(min_length=1)
    jobs: dict[str, JobSpec] = Field(default_factory=dict)
    queue_fairness: QueueFairness = Field(default_factory=QueueFairness)
    conflict: ConflictSpec = Field(default_factory=ConflictSpec)
    social: SocialSpec = Field(default_factory=SocialSpec)
    employment: EmploymentSpec = Field(default_factory=EmploymentSpec)
    rewards: RewardsSpec = Field(default_factory=RewardsSpec)
    behavior: BehaviorSpec = Field(default_factory=BehaviorSpec)
    needs: NeedsSpec = Field(default_factory=NeedsSpec)
    economy: EconomySpec = Field(default_factory=EconomySpec)
    affordance_ticks: AffordanceTicks = Field(default_factory=AffordanceTicks)
    perturbations: PerturbationSpec = Field(default_factory=PerturbationSpec)

"""Pydantic result objects returned by every strategy (torch-free)."""

from townlet.dto.anneal import AnnealStageResultDTO, AnnealSummaryDTO
from townlet.dto.bc import BCTrainingResultDTO
from townlet.dto.results import PPOTrainingResultDTO

__all__ = [
    "AnnealStageResultDTO",
    "AnnealSummaryDTO",
    "BCTrainingResultDTO",
    "PPOTrainingResultDTO",
]

"""Pydantic result objects returned by every strategy (torch-free)."""

from townlet.dto.results import PPOTrainingResultDTO

__all__ = ["PPOTrainingResultDTO"]

"""Scheduled news that the news guard blocks around."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from tradeterm.contracts.base import Contract, EpochMs


class Impact(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class NewsWindowV1(Contract):
    TOPIC: ClassVar[str] = "news_window.v1"

    event_id: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1, max_length=256)
    currency: str | None = Field(default=None, max_length=16, examples=["USD"])
    impact: Impact
    event_time: EpochMs
    block_from: EpochMs
    block_until: EpochMs
    source: str | None = None

    @model_validator(mode="after")
    def _window(self) -> NewsWindowV1:
        if not self.block_from <= self.event_time <= self.block_until:
            raise ValueError("the block window must contain event_time")
        return self

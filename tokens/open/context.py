"""What a scheme handler gets besides the URL: the reference clock, the user-interaction hook and
the caller's extra keyword options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..clock import Clock
from .interaction import NoInteraction, UserInteraction


@dataclass
class OpenContext:
    reference: Clock | None = None
    interaction: UserInteraction = field(default_factory=NoInteraction)
    options: dict[str, Any] = field(default_factory=dict)

    def pin(self) -> str | None:
        """An explicit ``pin=`` option, else None (the handler may ask the interaction later)."""
        pin = self.options.get("pin")
        return None if pin is None else str(pin)

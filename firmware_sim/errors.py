"""Errors of the firmware simulator.

    TokensimError (tokens.errors)
    ├── SimError                 a simulator could not be built, served or provisioned
    │   └── SimConfigError       impossible simulator parameters (also InputError, a ValueError)
    └── UnplugFault              not an error to report: an endpoint tells its runner to drop the
                                 connection (the cable was pulled), see :mod:`firmware_sim.faults`

The firmware itself never raises on wire input: every malformed or out-of-range frame is answered
with an error status (docs/serial-protocol.md §3).
"""

from __future__ import annotations

from tokens.errors import InputError, TokensimError


class SimError(TokensimError):
    """The simulator could not be started or provisioned."""


class SimConfigError(SimError, InputError):
    """A simulator parameter out of range (slots, PIN length, fault probabilities, batch sizes)."""


class UnplugFault(TokensimError):
    """Raised by an endpoint to tell its runner to drop the connection (cable pulled)."""

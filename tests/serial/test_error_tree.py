"""The serial stack's errors form one tree under tokens' DeviceError (issue 13 point 5)."""

from __future__ import annotations

import pytest

import hw.errors as hwe
from firmware_sim.errors import SimConfigError, SimError, UnplugFault
from firmware_sim.faults import FaultPlan
from firmware_sim.firmware import FirmwareConfig
from hw.link import Link
from hw.protocol import commands, framing
from tokens.errors import DeviceError, InputError, TokensimError


def test_wire_format_errors_sit_in_the_hw_tree() -> None:
    for cls in (hwe.FrameError, hwe.PayloadError, hwe.BadValueError):
        assert issubclass(cls, hwe.WireFormatError) and issubclass(cls, hwe.HwError)
        assert issubclass(cls, DeviceError) and issubclass(cls, ValueError)
    assert framing.FrameError is hwe.FrameError and commands.PayloadError is hwe.PayloadError
    with pytest.raises(hwe.HwError):
        framing.decode_frame(b"\x01\x01")
    with pytest.raises(hwe.HwError):
        commands.TimeReply.parse(b"")


def test_every_hw_error_class_is_drawn_in_the_docstring() -> None:
    doc = hwe.__doc__ or ""
    for name in hwe.__all__:
        obj = getattr(hwe, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert name in doc, name


def test_firmware_sim_raises_its_own_typed_errors() -> None:
    assert issubclass(SimConfigError, SimError) and issubclass(SimConfigError, InputError)
    assert issubclass(UnplugFault, TokensimError)
    with pytest.raises(SimConfigError):
        FirmwareConfig(serial="S", slots=0)
    with pytest.raises(SimConfigError):
        FaultPlan(drop=2.0)
    with pytest.raises(hwe.LinkConfigError):
        Link(None, retries=-1)  # type: ignore[arg-type]

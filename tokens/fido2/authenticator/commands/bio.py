"""authenticatorBioEnrollment (CTAP 2.1 §6.7; also its 2.1-preview code 0x40): fingerprint templates.

The sensor is simulated: every sample "capture" is a touch answered by the presence policy and is a
good sample (FP_GOOD); an enrollment takes :data:`BIO_SAMPLES` of them.  An enrolled finger turns
built-in UV on (``state.uv`` AUTO: the simulated finger matches); removing the last one turns it off.
Everything but the sensor info, the modality and cancel needs a pinUvAuthToken with the ``be``
permission over ``modality || subCommand || subCommandParams``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from fido2 import cbor
from fido2.ctap2.bio import BioEnrollment, FPBioEnrollment

from ...errors import ERR, CtapStatus
from ..checks import UserChecks
from ..limits import BIO_MAX_NAME, BIO_MAX_TEMPLATES, BIO_SAMPLES
from ..params import optional, required
from ..pinauth import Permission, PinUvAuth
from ..state import AuthenticatorState, UvMode
from ..user import KeepAlive
from ..wire import BioEnrollmentParam as P

CMD, PARAM, RESULT, FEEDBACK = FPBioEnrollment.CMD, FPBioEnrollment.PARAM, BioEnrollment.RESULT, \
    FPBioEnrollment.FEEDBACK
TEMPLATE = BioEnrollment.TEMPLATE_INFO
FINGERPRINT = BioEnrollment.MODALITY.FINGERPRINT
TOUCH_SENSOR = 0x01  # fingerprintKind: touch (not swipe)


class BioEnrollmentCommand:
    def __init__(self, state: AuthenticatorState, checks: UserChecks, pin: PinUvAuth,
                 on_change: Callable[[], None]) -> None:
        self.state, self.checks, self.pin, self.on_change = state, checks, pin, on_change
        self.cancel()

    def cancel(self) -> None:
        self._enrolling: bytes | None = None
        self._remaining = 0

    def __call__(self, req: Mapping[int, Any], event: threading.Event | None = None,
                 keepalive: KeepAlive | None = None) -> dict[int, Any]:
        if optional(req, P.GET_MODALITY, bool, "getModality"):
            return {RESULT.MODALITY: FINGERPRINT}
        modality: int = required(req, P.MODALITY, int, "modality")
        sub: int = required(req, P.SUB_COMMAND, int, "subCommand")
        params: dict[int, Any] | None = optional(req, P.SUB_COMMAND_PARAMS, dict, "subCommandParams")
        if modality != FINGERPRINT:
            raise CtapStatus(ERR.INVALID_PARAMETER, "only the fingerprint modality")
        if sub == CMD.GET_SENSOR_INFO:
            return {RESULT.MODALITY: FINGERPRINT, RESULT.FINGERPRINT_KIND: TOUCH_SENSOR,
                    RESULT.MAX_SAMPLES_REQUIRED: BIO_SAMPLES, RESULT.MAX_TEMPLATE_FRIENDLY_NAME: BIO_MAX_NAME}
        if sub == CMD.ENROLL_CANCEL:
            self.cancel()
            return {}
        if sub not in set(CMD):
            raise CtapStatus(ERR.INVALID_SUBCOMMAND)
        param = req.get(P.PIN_UV_AUTH_PARAM)
        if param is None:
            raise CtapStatus(ERR.PUAT_REQUIRED)
        message = bytes([modality, sub]) + (cbor.encode(params) if params is not None else b"")
        self.pin.verify_token(req.get(P.PIN_UV_AUTH_PROTOCOL), param, message, Permission.BIO_ENROLL, None)
        p = params or {}
        if sub == CMD.ENROLL_BEGIN:
            if len(self.state.bio_templates) >= BIO_MAX_TEMPLATES:
                raise CtapStatus(ERR.FP_DATABASE_FULL)
            self._enrolling, self._remaining = os.urandom(2), BIO_SAMPLES
            return {RESULT.TEMPLATE_ID: self._enrolling, **self._capture(event, keepalive)}
        if sub == CMD.ENROLL_CAPTURE_NEXT:
            template: bytes = required(p, PARAM.TEMPLATE_ID, bytes, "templateId")
            if template != self._enrolling:
                raise CtapStatus(ERR.INVALID_PARAMETER, "no enrollment in progress for this template")
            return self._capture(event, keepalive)
        if sub == CMD.ENUMERATE_ENROLLMENTS:
            if not self.state.bio_templates:
                raise CtapStatus(ERR.INVALID_OPTION, "no enrollments")
            return {RESULT.TEMPLATE_INFOS: [{TEMPLATE.ID: bytes.fromhex(t), TEMPLATE.NAME: name}
                                            for t, name in self.state.bio_templates.items()]}
        template_id: bytes = required(p, PARAM.TEMPLATE_ID, bytes, "templateId")
        key = template_id.hex()
        if key not in self.state.bio_templates:
            raise CtapStatus(ERR.INVALID_OPTION, "no such template")
        if sub == CMD.SET_NAME:
            name: str = required(p, PARAM.TEMPLATE_NAME, str, "templateFriendlyName")
            if len(name.encode()) > BIO_MAX_NAME:
                raise CtapStatus(ERR.INVALID_PARAMETER, f"names are at most {BIO_MAX_NAME} bytes")
            self.state.bio_templates[key] = name
        else:  # REMOVE_ENROLLMENT
            del self.state.bio_templates[key]
            if not self.state.bio_templates and self.state.uv is UvMode.AUTO:
                self.state.uv = UvMode.NONE
        self.on_change()
        return {}

    def _capture(self, event: threading.Event | None, keepalive: KeepAlive | None) -> dict[int, Any]:
        self.checks.user_presence(event, keepalive)  # the finger on the sensor
        self._remaining -= 1
        if self._remaining == 0 and self._enrolling is not None:
            self.state.bio_templates[self._enrolling.hex()] = ""
            if self.state.uv is UvMode.NONE:
                self.state.uv = UvMode.AUTO
            self._enrolling = None
            self.on_change()
        return {RESULT.LAST_SAMPLE_STATUS: FEEDBACK.FP_GOOD, RESULT.REMAINING_SAMPLES: self._remaining}

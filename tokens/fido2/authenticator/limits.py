"""Every limit and constant of the software authenticator, in one place.

Values a key model may change (what getInfo advertises) are the defaults of
:class:`~tokens.fido2.authenticator.models.Model`; the rest are protocol constants.
"""

from __future__ import annotations

# -- advertised in getInfo (per model; these are the defaults) ----------------------------------------------
MAX_MSG_SIZE = 1200  # bytes of a CTAPHID CBOR message
MAX_CREDS_IN_LIST = 8  # entries of an allow/exclude list
MAX_CRED_ID_LENGTH = 128
MAX_CRED_BLOB = 32  # credBlob bytes per credential
MAX_LARGE_BLOB = 4096  # serialized large-blob array
MAX_RPIDS_FOR_MIN_PIN = 8  # minPinLengthRPIDs accepted by setMinPINLength
CAPACITY = 25  # discoverable credential slots

# -- PIN / UV (CTAP 2.1 §6.5) ----------------------------------------------------------------------------
PIN_RETRIES = 8  # wrong PINs in total before PIN_BLOCKED
MAX_CONSECUTIVE_PIN_FAILS = 3  # wrong PINs in one power cycle before PIN_AUTH_BLOCKED
UV_RETRIES = 5  # failed built-in UV attempts before UV_BLOCKED
MIN_PIN_LENGTH = 4  # code points
MAX_PIN_BYTES = 63  # UTF-8 bytes
PIN_BLOCK_SIZE = 64  # newPinEnc plaintext, zero padded
PIN_HASH_SIZE = 16  # LEFT(SHA-256(PIN), 16)
TOKEN_LIFETIME = 600.0  # seconds a pinUvAuthToken stays usable

# -- bio enrollment (CTAP 2.1 §6.7) ----------------------------------------------------------------------
BIO_SAMPLES = 4  # good fingerprint samples an enrollment takes
BIO_MAX_TEMPLATES = 5
BIO_MAX_NAME = 15  # maxTemplateFriendlyName (bytes)

# -- commands ---------------------------------------------------------------------------------------------
MAX_USER_ID = 64  # bytes of user.id
NEXT_ASSERTION_TIMEOUT = 30.0  # seconds between getAssertion and getNextAssertion
RESET_WINDOW = 10.0  # seconds after power-up in which authenticatorReset is allowed
LARGE_BLOB_FRAGMENT_OVERHEAD = 64  # maxFragmentLength = maxMsgSize - 64
LARGE_BLOB_CHECK = 16  # trailing LEFT(SHA-256(array), 16)
KEY_CACHE = 256  # derived key pairs / unwrapped credentials kept in memory

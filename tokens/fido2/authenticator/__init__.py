"""The device model: a CTAP 2.1 authenticator in software, bytes in and bytes out, no I/O.

Bottom up (each layer imports only the ones below it; nothing imports :mod:`.core`):

  limits, wire, params, cbor        constants in one place, CBOR keys, typed parameter access
  keys, credentials, attestation    key pairs, wrapped credential IDs (:class:`CredentialRecord`)
  state, user, faults               persistent state record, simulated user, signer wrappers
  store, pinauth, checks            services: credential store, PIN/UV token, presence/UV checks
  commands/*                        one class per command group, given only its services
  core.Authenticator                the dispatch table
"""

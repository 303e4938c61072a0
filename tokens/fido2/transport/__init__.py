"""Transports: the in-process ``CtapDevice`` (softdevice), CTAPHID framing (ctaphid) and UDP (udp)."""

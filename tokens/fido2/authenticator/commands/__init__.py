"""One small class per CTAP command group, each given only the services it needs."""

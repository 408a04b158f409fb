"""A run folder end to end: its files, the request and its checked plan, the method registry,
the training engine, checkpoints, locks, seeding and the bridge pre-training run."""

"""LightningModules: one per model family, all on the shared step of `base.AdversarialModule`."""

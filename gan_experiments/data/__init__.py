"""LightningDataModules, datasets, transforms and downloads."""

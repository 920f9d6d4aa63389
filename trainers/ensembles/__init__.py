"""Ensembles: combine stored trials (voting, weighted averaging, stacking) or train new members (bagging,
boosting, snapshots), members of one architecture trained together as one vectorised model.

Only the torch-free parts (settings, events) are imported here, so the window's forms can read them before
torch loads; the engine is reached through trainers.api."""

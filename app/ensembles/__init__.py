"""The Ensembles tab: combine stored trials or train new members, watch them live, compare, save and export."""

from app.ensembles.ensemble_tab import EnsembleTab

__all__ = ["EnsembleTab"]

"""SearchSettingsForm: how a search runs (sampler, pruner, budget, workers, seed, LR-finder seeding, what it
optimises), one FieldEditor per field of trainers.spec.search_settings, validated on every edit, so the form, the CLI
and the engine accept exactly the same values. The epochs a trial runs before it may be pruned are shown only while
a pruner is chosen."""

from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtWidgets import QComboBox, QWidget

from app.forms.field_form import FieldForm, FormRules
from app.search.wording import MONITOR_LABELS, PRUNER_LABELS, SAMPLER_LABELS
from trainers.spec.search_settings import SECTION, TABLE, SearchSettings

# Row labels with their Alt keys: none takes a window-wide one (menus F R V H, tabs G L C Y E) or one of the tab's
# buttons (S&tart T, Stop S, earlier searches I, Apply best B, re-run U, ensemble N).
LABELS = {
    "sampler": "Sa&mpler",
    "pruner": "&Pruner",
    "trials": "Tri&als",
    "timeout_s": "Time limit (s)",
    "epochs": "Ep&ochs per trial",
    "workers": "&Workers",
    "seed": "See&d",
    "lr_finder_seed": "Seed lr by LR finder",
    "monitor": "Optimise",
    "min_epochs_before_pruning": "Epochs before pruning",
    "vectorise": "Trials trained together",
}
PRUNER = f"{SECTION}.pruner"
_WORDS = {"sampler": SAMPLER_LABELS, "pruner": PRUNER_LABELS, "monitor": MONITOR_LABELS}


def _shown(key: str, values: Mapping[str, Any]) -> bool:
    return key != f"{SECTION}.min_epochs_before_pruning" or values[PRUNER] != "none"


class SearchSettingsForm(FieldForm[SearchSettings]):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(TABLE, FormRules(shown=_shown, triggers=frozenset((PRUNER,)), labels=LABELS), parent)
        for name, words in _WORDS.items():
            combo = self.editor(name).focus_widget()
            assert isinstance(combo, QComboBox)
            for i in range(combo.count()):  # shown in words; the value stays the engine's identifier
                combo.setItemText(i, words.get(combo.itemData(i), combo.itemData(i)))

"""Reading a results table (one row per trial, :func:`codesign.results.trials_table`)."""

from __future__ import annotations

import math

import pandas as pd


def complete(table: pd.DataFrame) -> pd.DataFrame:
    """The complete trials of a results table."""
    if table.empty or "state" not in table:
        return table
    return table[table["state"] == "COMPLETE"]


def feasible_mask(table: pd.DataFrame) -> pd.Series:
    """True for rows that are feasible (a missing ``feasible`` column or value counts as feasible)."""
    if "feasible" not in table:
        return pd.Series(True, index=table.index)
    return table["feasible"].map(_feasible).astype(bool)


def _feasible(value) -> bool:
    return True if value is None or (isinstance(value, float) and math.isnan(value)) else bool(value)


def trials_text(table: pd.DataFrame) -> str:
    """'12 (complete 10, pruned 2)': the number of trials and how many ended in each state."""
    states = table["state"].value_counts().to_dict() if not table.empty else {}
    return f"{len(table)} (" + ", ".join(f"{k.lower()} {v}" for k, v in sorted(states.items())) + ")"


def extra_trials_text(table: pd.DataFrame) -> str | None:
    """'siblings 44, promotions 5 (not counted towards n_trials); screened 12, superseded 5':
    the trials the sampler did not propose and the screens (codesign.study.siblings,
    codesign.study.promotion); None when a study has none."""
    def count(column: str) -> int:
        return int(table[column].notna().sum()) if column in table else 0

    siblings, promotions, superseded = (count("sibling_of"), count("promotes"),
                                        count("superseded_by"))
    screened = int(table["screened"].fillna(False).astype(bool).sum()) \
        if "screened" in table else 0
    if not (siblings or promotions or screened):
        return None
    text = f"siblings {siblings}, promotions {promotions} (not counted towards n_trials)"
    return text + (f"; screened {screened}, superseded {superseded}" if screened else "")


def cache_hits_text(table: pd.DataFrame) -> str | None:
    """'3 of 5': trials whose accuracy came from the adapter cache, of those that asked it; None
    when no trial asked it (a latency-only study)."""
    if "accuracy_cache_hit" not in table or not table["accuracy_cache_hit"].notna().any():
        return None
    asked = table["accuracy_cache_hit"]
    return f"{int(asked.fillna(False).astype(bool).sum())} of {int(asked.notna().sum())}"

"""Parents score as the sum of their children: a video that is 40% "slam dunk" and 30% "layup" is
70% "basketball". Only leaves are classified; parents are roll-ups, shown with `--level`."""

from __future__ import annotations

from typing import Mapping

import numpy as np


def ancestors(name: str, parent_of: Mapping[str, str | None]) -> list[str]:
    """[name, parent, grandparent, ...] up to the root."""
    chain, seen = [name], {name}
    while (parent := parent_of.get(chain[-1])) is not None:
        if parent in seen:  # the store refuses cycles; never loop if one slipped in
            break
        chain.append(parent)
        seen.add(parent)
    return chain


def roll_up(
    leaves: list[str],
    scores: np.ndarray,
    parent_of: Mapping[str, str | None],
    level: int,
    how: str = "sum",
) -> tuple[list[str], np.ndarray]:
    """Scores of the labels at depth `level` (0 = roots) from their leaves' scores.

    `how="sum"` for probabilities (a parent's is the sum of its children's), `"max"` for cosines
    (a parent is as close as its closest child). A leaf shallower than `level` stands for itself.
    Order follows first appearance in `leaves`.
    """
    totals: dict[str, float] = {}
    for leaf, score in zip(leaves, np.asarray(scores, np.float64)):
        chain = ancestors(leaf, parent_of)[::-1]  # root first
        name = chain[min(level, len(chain) - 1)]
        if name not in totals:
            totals[name] = float(score)
        elif how == "sum":
            totals[name] += float(score)
        else:
            totals[name] = max(totals[name], float(score))
    return list(totals), np.array(list(totals.values()))

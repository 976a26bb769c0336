"""Parents score as the sum of their children: a video that is 40% "slam dunk" and 30% "layup" is
70% "basketball". Only leaves are classified; parents are roll-ups, shown with `--level`."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from openvid.errors import UsageError, opt


def ancestors(name: str, parent_of: Mapping[str, str | None]) -> list[str]:
    """[name, parent, grandparent, ...] up to the root."""
    chain, seen = [name], {name}
    while (parent := parent_of.get(chain[-1])) is not None:
        if parent in seen:  # the store refuses cycles; never loop if one slipped in
            break
        chain.append(parent)
        seen.add(parent)
    return chain


def depth(leaves: list[str], parent_of: Mapping[str, str | None]) -> int:
    """How many levels the tree of `leaves` has: 1 for a flat list, 2 for roots with children, ..."""
    return max((len(ancestors(leaf, parent_of)) for leaf in leaves), default=1)


def check_level(level: int | None, leaves: list[str], parent_of: Mapping[str, str | None]) -> None:
    """Refuse a level the tree does not have: deeper than its deepest leaf, it would silently be the
    leaf view (every leaf standing for itself), which is not what was asked for."""
    if level is None:
        return
    levels = depth(leaves, parent_of)
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level < levels:
        shown = "0 (its labels are not nested)" if levels == 1 else f"0 (the top) to {levels - 1} (the deepest)"
        raise UsageError(f"{opt('level', level)} is not a level of this taxonomy, which is {levels} level(s) deep: "
                         f"give {shown}, or leave the level out for the leaf labels")


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
    Order follows first appearance in `leaves`. A level the tree does not have is a UsageError
    (`check_level`).
    """
    check_level(level, leaves, parent_of)
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

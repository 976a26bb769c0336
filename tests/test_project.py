"""The project's own promises about itself: README commands and CI agree, packaging is sane."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    return [line.strip() for line in first_block.splitlines() if line.strip()]


def test_readme_opens_with_install_then_test_and_ci_runs_both():
    install, test = _readme_commands()[:2]
    assert install.startswith("pip install") and "[dev]" in install
    assert "pytest" in test
    ci = (ROOT / ".ci" / "run").read_text()
    assert install in ci and test in ci
    assert ci.index(install) < ci.index(test)
    assert "venv" in ci and "set -euo pipefail" in ci


def test_pyproject_declares_ranges_and_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!;\[ ]", dep)[0].lower(): dep for dep in project["dependencies"]}
    for needed in ["torch", "torchvision", "transformers", "open_clip_torch", "faiss-cpu", "decord", "av",
                   "librosa", "sqlalchemy", "numpy", "typer", "rich"]:
        assert needed in names, needed
        assert "==" not in names[needed].split(";")[0], f"{needed} must be a range"
    assert project["scripts"]["openvid"] == "openvid.cli:main"
    assert any(dep.startswith("scikit-video") for dep in project["optional-dependencies"]["dev"])
    assert any("faiss-gpu" in dep for dep in project["optional-dependencies"]["gpu"])

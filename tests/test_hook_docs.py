"""Every hook is documented: a docstring with :param: lines and a section in the reference."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from sultan.kernel import hookspecs

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "modules" / "hooks.md"


@pytest.mark.parametrize("name", hookspecs.HOOK_NAMES)
def test_hook_has_a_reference_section(name):
    assert f"\n## {name}\n" in REFERENCE.read_text(), (
        f"docs/modules/hooks.md lacks a section for {name}"
    )


@pytest.mark.parametrize("name", hookspecs.HOOK_NAMES)
def test_hook_docstring_says_when_it_fires_and_documents_params(name):
    func = getattr(hookspecs, name)
    doc = inspect.getdoc(func) or ""
    assert "Fires" in doc, f"{name}: say when it fires"
    for param in inspect.signature(func).parameters:
        assert f":param {param}:" in doc, f"{name}: document parameter {param}"


def test_reference_has_no_sections_for_hooks_that_do_not_exist():
    sections = [
        line[3:] for line in REFERENCE.read_text().splitlines() if line.startswith("## sultan_")
    ]
    assert sorted(sections) == sorted(hookspecs.HOOK_NAMES)

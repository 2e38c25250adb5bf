"""The README's zoo table is generated from the registry and must match it."""

import re

import pytest

import mmzoo
from tests import paths

README = str(paths.ROOT / "README.md")


def _table():
    text = open(README).read()
    match = re.search(r"<!-- zoo-table:start -->\n(.*?)\n<!-- zoo-table:end -->", text, re.S)
    assert match, "README lost its zoo-table markers"
    return match.group(1)


def test_readme_lists_every_model():
    names = re.findall(r"^\| `([a-z_0-9]+)` \|", _table(), re.M)
    assert names == mmzoo.list_models(), "regenerate with: python -m mmzoo list --table"


@pytest.mark.slow
def test_readme_zoo_table_is_current():
    from mmzoo.models.reference import zoo_table

    assert _table() == zoo_table(), "regenerate with: python -m mmzoo list --table"

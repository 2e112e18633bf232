"""The docs site builds with ``mkdocs build --strict``, its generated pages cover every CLI
option and every registered sampler, and README.md is a front door that works on the package
index (small, absolute links only, no images, links that land on built pages)."""

from __future__ import annotations

import argparse
import dataclasses
import html
import importlib
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

if os.environ.get("CI") != "true":  # CI installs the docs extra (README's install): no skip
    pytest.importorskip("mkdocs")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_MKDOCS_2_WARNING": "1"}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def _page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def _sections(page: str, tag: str) -> dict[str, str]:
    """Heading text -> the HTML up to the next heading of the same or a higher level."""
    level = int(tag[1])
    stops = "|".join(f"h{i}" for i in range(1, level + 1))
    parts = re.split(rf"(<{tag} id=\"[^\"]*\">.*?</{tag}>)", page)
    out = {}
    for head, body in zip(parts[1::2], parts[2::2], strict=True):
        text = html.unescape(re.sub(r"<a class=\"headerlink\".*?</a>|<[^>]+>", "", head)).strip()
        out[text] = re.split(rf"<(?:{stops}) id=", body)[0]
    return out


def _parsers():
    (ep,) = entry_points(group="console_scripts", name="negbench")
    stack = [importlib.import_module(ep.module).build_parser()]
    while stack:
        parser = stack.pop()
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())


def test_cli_reference_lists_every_command_and_option(site):
    page = _page(site, "reference/cli")
    sections = {**_sections(page, "h2"), **_sections(page, "h3")}
    for parser in _parsers():
        assert parser.prog in sections, f"no section for `{parser.prog}`"
        items = re.findall(r"<li>(.*?)</li>", sections[parser.prog], re.DOTALL)  # not usage
        text = html.unescape(re.sub(r"<[^>]+>", "", "\n".join(items)))
        for action in parser._actions:
            for option in action.option_strings:
                assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), \
                    f"`{parser.prog}` section lacks {option}"


def test_samplers_page_lists_every_sampler_and_parameter(site):
    from negbench.strategies.registry import available

    sections = _sections(_page(site, "samplers"), "h2")
    for name, cls in available().items():
        assert name in sections, f"no section for sampler {name!r}"
        for field in dataclasses.fields(cls.Params):
            assert f"<code>{field.name}</code>" in sections[name], f"{name}: no {field.name}"
        if cls.paper:
            assert html.escape(cls.paper, quote=False) in sections[name]


def test_readme_is_a_front_door_for_the_package_index():
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) <= 12 * 1024
    assert "![" not in text and "<img" not in text.lower(), "no images (they break on PyPI)"
    relative = re.findall(r"\]\((?!https?://|#)([^)]*)\)", text)
    assert not relative, f"relative links break on the package index: {relative}"
    install = text.split("\n# install\n", 1)[1].split("\n", 1)[0]
    assert "docs" in install, "the install command must install the docs toolchain for CI"


def test_readme_links_into_the_docs_land_on_built_pages(site):
    base = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["site_url"]
    links = re.findall(rf"\]\(({re.escape(base)}[^)#]*)", README.read_text(encoding="utf-8"))
    assert len(links) >= 5
    for link in links:
        assert (site / link[len(base):] / "index.html").is_file(), f"{link}: no such page"


def test_results_pages_cover_every_committed_comparison(site):
    listed = subprocess.run(["git", "ls-files", "results/runs"], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    folders = {Path(p).parts[2] for p in listed.stdout.splitlines() if len(Path(p).parts) > 3}
    assert folders
    for folder in sorted(folders):
        assert (site / "results" / folder / "index.html").is_file(), f"no results page: {folder}"
        assert (site / "results" / "runs" / folder / "table" / "index.html").is_file()
    assert (site / "results" / "leaderboard" / "index.html").is_file()

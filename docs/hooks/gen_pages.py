"""mkdocs hook: the pages that must not drift from the code, generated at every build.

- ``reference/cli.md``: every command and option, read from negbench's argparse parser;
- ``samplers.md``: every registered sampler, read from the registry (paper, what negbench
  simplifies, parameters with defaults, docstring);
- ``results/...``: the committed results files (tables, reports, plots, GPU notes) at their
  repository paths, so the hand-written results pages link them as they are;
- ``results/leaderboard/index.html``: ``negbench leaderboard`` over the committed H100 folders.

Nothing is written into ``docs/``; the files exist only in the build. For the API reference the
hook also copies the package's folders into ``build/api-src`` as an installed negbench lays them
out (``negbench`` = ``api/``, ``negbench.harness`` = ``harness/``, ...), which mkdocstrings reads.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files, InclusionLevel

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the docs extra installs tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
RESULTS_EXT = (".md", ".png", ".log", ".yaml")  # what of results/ the site carries (not records)
LEADERBOARD_DIRS = ("results/runs/scifact-query-side-h100", "results/runs/nfcorpus-query-side-h100",
                    "results/runs/esco-tech-query-side-h100")


API_SRC = ROOT / "build" / "api-src"


def copy_package_tree(dest: Path = API_SRC) -> Path:
    """``dest/negbench/...`` as pyproject's ``package-dir`` maps it (copies: griffe resolves
    symlinks back to the checkout's folder names); built aside, then renamed into place."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        package_dir = tomllib.load(fh)["tool"]["setuptools"]["package-dir"]
    dest.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    for package, folder in sorted(package_dir.items(), key=lambda kv: kv[0].count(".")):
        shutil.copytree(ROOT / folder, fresh.joinpath(*package.split(".")), dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.rmtree(dest, ignore_errors=True)
    try:
        fresh.rename(dest)
    except OSError:  # a concurrent build put its (identical) copy there first
        shutil.rmtree(fresh, ignore_errors=True)
    return dest


def cli_module():
    """The module of the ``negbench`` console script (``main`` and ``build_parser``)."""
    (ep,) = entry_points(group="console_scripts", name="negbench")
    return importlib.import_module(ep.module)


def commands(parser: argparse.ArgumentParser) -> Iterator[tuple[argparse.ArgumentParser, str]]:
    """Every parser below ``parser`` (depth first, sorted), with its one-line help."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name in sorted(action.choices):
                sub = action.choices[name]
                yield sub, helps.get(name, "")
                yield from commands(sub)


_CODE_SPAN = re.compile(r"(``.+?``|`[^`]+`)", re.DOTALL)


def _plain(text: str) -> str:
    """Prose from help strings and docstrings as Markdown text: brackets and ``<`` outside
    code spans are escaped (``[,train=ID][,dev=ID]`` is no reference link, ``<x>`` no tag)."""
    parts = _CODE_SPAN.split(text)
    for i in range(0, len(parts), 2):  # the even parts are outside code spans
        parts[i] = parts[i].replace("[", "\\[").replace("]", "\\]").replace("<", "&lt;")
    return "".join(parts)


def _anchor(prog: str) -> str:
    return prog.lower().replace(" ", "-")


def _option(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """One option as a bullet: invocation, help (``%(default)s`` expanded), default, choices."""
    fmt = parser._get_formatter()
    invocation = fmt._format_action_invocation(action)
    hidden = action.help == argparse.SUPPRESS
    text = "internal (hidden from `--help`)" if hidden else fmt._expand_help(action) if \
        action.help else ""
    notes = []  # what the help and the invocation do not say already
    if action.choices and action.metavar is not None:
        notes.append("choices: " + ", ".join(f"`{c}`" for c in action.choices))
    default = action.default
    if action.option_strings and action.nargs != 0 and "default" not in text.lower() and \
            default not in (None, [], "", argparse.SUPPRESS):
        notes.append(f"default: `{default}`")
    text = " ".join([_plain(" ".join(text.split()))] + ([f"({'; '.join(notes)})"] if notes else []))
    return f"- `{invocation}`" + (f": {text.strip()}" if text.strip() else "")


def _usage(parser: argparse.ArgumentParser) -> str:
    fmt = parser.formatter_class(prog=parser.prog, width=100)
    fmt.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return fmt.format_help().strip()


def _command_section(parser: argparse.ArgumentParser, level: str) -> list[str]:
    out = [f"{level} `{parser.prog}`", ""]
    if parser.description:
        out += [_plain(" ".join(parser.description.split())), ""]
    out += ["```text", _usage(parser), "```", ""]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions
                   if not isinstance(a, argparse._SubParsersAction)]
        if actions:
            out += [f"**{group.title}**", ""] + [_option(parser, a) for a in actions] + [""]
    if parser.epilog:
        out += ["```text", parser.epilog.strip(), "```", ""]
    return out


def cli_page() -> str:
    """The CLI reference: a table of commands, then each command's usage and options."""
    parser = cli_module().build_parser()
    subs = list(commands(parser))
    out = ["# CLI reference", "",
           ("Generated from negbench's argparse parser at every docs build, so it lists every "
            "command and option of the installed version (`negbench COMMAND --help` prints the "
            "same). Exit codes, logging and experiment files: [Command line](../cli.md)."), "",
           "| command | what it does |", "| --- | --- |"]
    out += [f"| [`{p.prog}`](#{_anchor(p.prog)}) | {_cell(h)} |" for p, h in subs]
    out += [""] + _command_section(parser, "##")
    for sub, _ in subs:
        out += _command_section(sub, "##" if sub.prog.count(" ") == 1 else "###")
    return "\n".join(out)


def _cell(text: object) -> str:
    return _plain(" ".join(str(text).split())).replace("|", "\\|")


def samplers_page() -> str:
    """The sampler catalogue: a summary table, then one section per registered sampler."""
    from negbench.strategies.registry import available

    samplers = available()
    out = ["# Samplers", "",
           ("Generated from the sampler registry at every docs build: every registered sampler "
            "(built-ins and installed entry points) with its source paper, what negbench "
            "simplifies and its parameters with defaults, as `negbench strategies` lists them. "
            "Set a parameter with `negbench run --param SAMPLER.NAME=VALUE` or in an experiment "
            "file. How mining works, and the samplers side by side: "
            "[How samplers mine](mining.md)."), "",
           "| sampler | description | paper | simplified here |", "| --- | --- | --- | --- |"]
    out += [f"| [`{name}`](#{_anchor(name).replace('+', '')}) | {_cell(cls.description())} | "
            f"{_cell(cls.paper or '-')} | {_cell(cls.simplified or '-')} |"
            for name, cls in samplers.items()]
    out += ["", "## Recipes", "",
            ("Each method as published (`run --mode recipe`): its loss with parameters, the "
             "in-batch mask, its schedule, and the window-matched static control that "
             "`--mode controlled` adds beside it. See [Methods](methods.md)."), "",
            "| sampler | loss | mask | schedule | window control | query-side track |",
            "| --- | --- | --- | --- | --- | --- |"]
    for name, cls in samplers.items():
        r = cls.get_recipe()
        control = r.control_label or "-"
        out.append(f"| `{name}` | `{_cell(r.describe_loss())}` | {'on' if r.mask else 'off'} | "
                   f"{_cell(r.schedule)} | `{control}` | {_cell(r.query_side or 'as published')} |")
    for name, cls in samplers.items():
        out += ["", f"## {name}", "", _plain(inspect.cleandoc(cls.__doc__ or "")), "",
                f"- **paper**: {_plain(cls.paper or '-')}",
                f"- **simplified here**: {_plain(cls.simplified or '- (as published)')}",
                (f"- **tracks**: {', '.join(cls.tracks)}; "
                 f"**mined negatives**: {'yes' if cls.uses_negatives else 'no (in-batch only)'}"
                 f"; **in-batch mask**: {'on' if cls.get_recipe().mask else 'off'}"),
                (f"- **recipe**: loss `{_plain(cls.get_recipe().describe_loss())}`; "
                 f"{_plain(cls.get_recipe().schedule)}"), ""]
        fields = dataclasses.fields(cls.Params)
        if not fields:
            out.append("No parameters.")
            continue
        defaults = cls.Params()
        out += ["| parameter | type | default |", "| --- | --- | --- |"]
        out += [f"| `{f.name}` | `{f.type}` | `{getattr(defaults, f.name)!r}` |"
                for f in fields]
        if cls.Params.__doc__ and not cls.Params.__doc__.startswith(cls.Params.__name__ + "("):
            out += ["", _plain(inspect.cleandoc(cls.Params.__doc__))]
    return "\n".join(out)


def results_paths() -> list[str]:
    """The results files the site carries: those git tracks or would track (not ignored)."""
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                                 "results"], cwd=ROOT, capture_output=True, text=True, check=True)
        paths = listed.stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        paths = [str(p.relative_to(ROOT)) for p in (ROOT / "results").rglob("*")]
    return sorted(p for p in paths if p.endswith(RESULTS_EXT) and "/records/" not in p
                  and (ROOT / p).is_file())


def leaderboard_html() -> str:
    """``negbench leaderboard`` over the committed H100 query-side folders."""
    with tempfile.TemporaryDirectory() as tmp:
        rc = cli_module().main(["leaderboard", *(str(ROOT / d) for d in LEADERBOARD_DIRS),
                                "--output", tmp])
        if rc != 0:
            raise PluginError(f"negbench leaderboard failed (exit {rc})")
        return (Path(tmp) / "index.html").read_text(encoding="utf-8")


def on_startup(command: str, dirty: bool) -> None:
    """Lay the package out for mkdocstrings before any plugin reads its config (mkdocstrings
    drops a search path that does not exist yet, as on a fresh clone)."""
    copy_package_tree()


def on_files(files: Files, config) -> Files:
    """Add the generated pages and the results files to the build."""
    files.append(File.generated(config, "reference/cli.md", content=cli_page()))
    files.append(File.generated(config, "samplers.md", content=samplers_page()))
    for path in results_paths():
        if files.get_file_from_path(path) is None:  # a hand-written page wins
            files.append(File.generated(config, path, abs_src_path=str(ROOT / path),
                                        inclusion=InclusionLevel.NOT_IN_NAV))
    files.append(File.generated(config, "results/leaderboard/index.html",
                                content=leaderboard_html()))
    return files

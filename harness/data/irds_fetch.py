"""Reading ir_datasets data offline-first, downloading only where the network allows.

``fetching(dataset_id, read)`` runs ``read`` (which iterates an ir_datasets dataset) with
ir_datasets' downloads blocked: what the cache (``$IR_DATASETS_HOME``) already holds is read
with no network. When ``read`` needs a file the cache lacks, the download is attempted only if
the network is allowed (``$NEGBENCH_OFFLINE`` unset or false) and the file's server answers an
HTTP HEAD request within ``$NEGBENCH_NET_TIMEOUT`` seconds (default 5, name resolution included);
otherwise ``read`` fails at once with one line naming the files to place and where. Nothing
here can hang on a network that is absent.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import sys
import threading
import types
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from negbench.harness.errors import NegbenchError, first_line

OFFLINE_ENV = "NEGBENCH_OFFLINE"
TIMEOUT_ENV = "NEGBENCH_NET_TIMEOUT"
_TRUE = {"1", "true", "yes", "on"}
log = logging.getLogger("negbench.data")
# the ids of the suite being loaded: a missing-data message lists the files of all of them
_SUITE_IDS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("negbench_irds_ids",
                                                                             default=())


@contextlib.contextmanager
def suite_ids(ids):
    """While loading a suite: name the files of all its ``ids`` when data is missing."""
    token = _SUITE_IDS.set(tuple(i for i in ids if i))
    try:
        yield
    finally:
        _SUITE_IDS.reset(token)


class MissingDownload(Exception):
    """ir_datasets asked for a file that is neither in its cache nor placed locally."""

    def __init__(self, download) -> None:
        super().__init__(str(download))
        self.download = download


def _local_paths(download) -> list[Path]:
    """Where a download may already lie: its cache path, then ir_datasets' local mirror
    (``<home>/downloads/<md5>``)."""
    from ir_datasets.util.download import LocalDownload

    paths = [Path(download._cache_path)] if download._cache_path not in (None, os.devnull) else []
    return paths + [m._path for m in download.mirrors if isinstance(m, LocalDownload)]


def _urls(download) -> list[str]:
    return [m.url for m in download.mirrors if isinstance(getattr(m, "url", None), str)]


def _present(download) -> bool:
    return download._path is not None or any(p.exists() for p in _local_paths(download))


# How ir_datasets behaves inside ``fetching`` (per thread/context; outside it, as shipped):
# downloads blocked or not; its log lines go to negbench's debug log (``-v``, --log-file) and
# its progress bars are shown ("bars") or not ("quiet").
_BLOCK: contextvars.ContextVar[bool] = contextvars.ContextVar("negbench_irds_block",
                                                              default=False)
_OUTPUT: contextvars.ContextVar[str] = contextvars.ContextVar("negbench_irds_output",
                                                              default="shown")
_INSTALLED: list = []


def _install() -> None:
    """Wrap ir_datasets' ``Download.path``/``Download.stream``, its log handler and its tqdm
    once per process; the wrappers defer to the originals unless a context says otherwise."""
    if _INSTALLED:
        return
    import tqdm
    from ir_datasets import lazy_libs
    from ir_datasets.log import TqdmHandler
    from ir_datasets.util import Download
    from ir_datasets.util.download import LocalDownload

    orig_path, orig_stream, orig_emit = Download.path, Download.stream, TqdmHandler.emit

    def path(self, force=True):
        if _BLOCK.get() and force and not _present(self):
            raise MissingDownload(self)
        return orig_path(self, force)

    def stream(self):
        first = self.mirrors[0]  # a streamed download always reads its first mirror
        if _BLOCK.get() and self._stream and not (isinstance(first, LocalDownload)
                                                  and first._path.exists()):
            raise MissingDownload(self)
        return orig_stream(self)

    def emit(self, record):
        if _OUTPUT.get() == "shown":
            orig_emit(self, record)
        else:
            # library chatter: in the log and on the console with -vv only (harness.logs)
            log.debug("ir_datasets: %s", record.getMessage(), extra={"chatter": True})

    class _Bar(tqdm.tqdm):
        def __init__(self, *args, **kwargs) -> None:
            if _OUTPUT.get() == "quiet":
                kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    bars = types.SimpleNamespace(tqdm=_Bar)
    Download.path, Download.stream, TqdmHandler.emit = path, stream, emit
    lazy_libs.tqdm = lambda: bars
    _INSTALLED.append(True)


@contextlib.contextmanager
def _reading(block: bool, output: str):
    """``block``: a download of a file not already present raises ``MissingDownload`` before
    anything touches the network or the cache. ``output``: "bars" or "quiet" (see above)."""
    _install()
    tokens = _BLOCK.set(block), _OUTPUT.set(output)
    try:
        yield
    finally:
        _BLOCK.reset(tokens[0])
        _OUTPUT.reset(tokens[1])


def no_downloads():
    """ir_datasets reads only what its cache (or a placed file) already holds."""
    return _reading(True, _OUTPUT.get())


def offline_switch() -> bool:
    """``$NEGBENCH_OFFLINE`` set to 1/true/yes/on: never use the network for data."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUE


def _timeout() -> float:
    try:
        return max(0.1, float(os.environ.get(TIMEOUT_ENV, "5")))
    except ValueError:
        raise NegbenchError(f"${TIMEOUT_ENV}={os.environ[TIMEOUT_ENV]!r}: expected a number "
                            "of seconds") from None


def network_problem(urls: list[str]) -> str | None:
    """None when the server of one of the ``urls`` answers an HTTP HEAD request (any status,
    through the proxies of the environment) within the timeout; else why not, in a few words.
    Bounded in time even when name resolution stalls (the probe runs in a daemon thread)."""
    if offline_switch():
        return f"${OFFLINE_ENV} is set"
    targets = list(dict.fromkeys(u for u in urls if urlsplit(u).scheme in ("http", "https")
                                 and urlsplit(u).hostname))[:3]
    if not targets:
        return "no http(s) source to download from"
    timeout, result = _timeout(), {}

    def probe() -> None:
        for url in targets:
            try:
                urllib.request.urlopen(urllib.request.Request(url, method="HEAD"),
                                       timeout=timeout).close()
            except urllib.error.HTTPError:
                pass  # the server answered
            except Exception as exc:  # noqa: BLE001 - DNS, refused, TLS, timeout: not reachable
                reason = getattr(exc, "reason", exc)
                why = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
                result.setdefault("error", f"{urlsplit(url).hostname}: {why}")
                continue
            result["ok"] = url
            return

    thread = threading.Thread(target=probe, name="negbench-net-probe", daemon=True)
    thread.start()
    thread.join(timeout * len(targets) + 1)
    if "ok" in result:
        return None
    return result.get("error") or \
        f"no answer from {urlsplit(targets[0]).hostname} within {timeout:g} s"


def _walk(obj, seen: set, out: list, depth: int = 0) -> None:
    """The ir_datasets ``Download`` objects reachable from a docs/queries/qrels handler; a
    ``Cache`` whose file exists needs nothing below it. Large containers (loaded data, never
    a handler's configuration) and deep chains are not searched."""
    from ir_datasets.util import Cache, Download

    if depth > 40 or id(obj) in seen or isinstance(
            obj, (str, bytes, int, float, bool, type(None), Path, type, types.ModuleType,
                  types.FunctionType)):
        return
    seen.add(id(obj))
    if isinstance(obj, Cache) and Path(obj._path).exists():
        return
    if isinstance(obj, Download):
        out.append(obj)
        return
    if isinstance(obj, types.MethodType):
        children = [obj.__self__]
    elif isinstance(obj, (list, tuple, set, frozenset, dict)):
        if len(obj) > 1000:
            return
        children = list(obj.values() if isinstance(obj, dict) else obj)
    else:
        children = list(getattr(obj, "__dict__", {}).values())
    for child in children:
        _walk(child, seen, out, depth + 1)


PARTS = ("docs", "queries", "qrels")


def needed_downloads(dataset_ids: list[str], first=None, parts=PARTS) -> list:
    """Downloads the ``parts`` of ``dataset_ids`` need that are not present, ``first`` (the one
    a read asked for) first; deduplicated by where they go."""
    import ir_datasets

    found: list = [first] if first is not None else []
    for dataset_id in dataset_ids:
        ds = ir_datasets.load(dataset_id)
        for part in parts:
            if getattr(ds, f"has_{part}")():
                _walk(getattr(ds, f"{part}_handler")(), set(), found)
    out, places = [], set()
    for dl in found:
        place = (_local_paths(dl) or [None])[0]
        key = str(place) if place is not None else tuple(_urls(dl))
        if not _present(dl) and key not in places:
            places.add(key)
            out.append(dl)
    return out


def describe(downloads: list) -> str:
    """``URL -> PATH`` for each download (the path ir_datasets reads it from)."""
    parts = []
    for dl in downloads:
        urls, paths = _urls(dl), _local_paths(dl)
        src = urls[0] if urls else "(see the ir_datasets documentation)"
        parts.append(f"{src} at {paths[0]}" if paths else f"{src} (streamed; needs network)")
    return ", ".join(parts)


def fetching(dataset_id: str, read, staged_hint: str | None = None, parts=PARTS):
    """``read()`` (of the ``parts`` of ``dataset_id``) from the ir_datasets cache; download
    what it lacks only where the network allows; otherwise one ``NegbenchError`` line saying
    what to place where."""
    try:
        likely_missing = bool(needed_downloads([dataset_id], parts=parts))
    except KeyError:  # an unknown id: ``read`` says so in its words
        likely_missing = False
    # ir_datasets' own log lines go to negbench's debug log (-v): an error stays one line; its
    # progress bars show on a terminal only, and not for a read that will likely stop at a
    # missing file
    bars = sys.stderr.isatty() and not likely_missing
    try:
        with _reading(True, "bars" if bars else "quiet"):
            return read()
    except MissingDownload as exc:
        ids = [dataset_id] + [i for i in _SUITE_IDS.get() if i != dataset_id]
        missing = needed_downloads(ids, exc.download)
    problem = network_problem([u for dl in missing for u in _urls(dl)])
    place = (f"{staged_hint}, or the ir_datasets download {describe(missing)}" if staged_hint
             else f"place {describe(missing)}")
    if problem:
        raise NegbenchError(f"{dataset_id}: data not found and no network ({problem}): {place}")
    log.info("%s: downloading through ir_datasets: %s", dataset_id, describe(missing))
    try:
        with _reading(False, "bars" if sys.stderr.isatty() else "quiet"):
            return read()
    except NegbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - network/server/checksum errors: one line
        raise NegbenchError(f"{dataset_id}: ir_datasets download failed ({type(exc).__name__}: "
                            f"{first_line(exc)}); {place}") from None


def staged_hint(dataset_id: str, root: Path | None, parts=PARTS) -> str | None:
    """What to place under the staged data folder for an id negbench stages (MANIFEST.md)."""
    from negbench.harness.data.irds import BEIR_STAGED
    from negbench.harness.data.paths import data_root

    want, parts = parts, dataset_id.split("/")
    base = data_root(root, required=False)
    if parts[0] == "beir" and len(parts) > 1 and parts[1] in BEIR_STAGED:
        folder, splits = BEIR_STAGED[parts[1]]
        files = ", ".join(["corpus.jsonl", "queries.jsonl"] + [f"qrels/{s}.tsv" for s in splits])
        return (f"place the staged BEIR files {files} in {base / folder} (set $NEGBENCH_DATA or "
                f"--data-root to the folder that holds {folder}/; layout in MANIFEST.md)")
    if parts[0] == "msmarco-passage" and "docs" in want:  # passages are not staged
        return ("pass the MS MARCO passages with --collection PATH/collection.tsv (or "
                "$NEGBENCH_MSMARCO_COLLECTION)")
    if parts[0] == "msmarco-passage":
        return (f"place the staged MS MARCO queries/qrels in {base / 'msmarco-passage'} (set "
                "$NEGBENCH_DATA or --data-root; layout in MANIFEST.md)")
    return None


def load_corpus(dataset_id: str, root: Path | None = None):
    """``irds.load_corpus`` from the staged files or the cache; downloads where allowed."""
    from negbench.harness.data import irds

    return fetching(dataset_id, lambda: irds.load_corpus(dataset_id, root),
                    staged_hint(dataset_id, root, ("docs",)), ("docs",))


def load_split(dataset_id: str, corpus, root: Path | None = None):
    """``irds.load_split`` from the staged files or the cache; downloads where allowed."""
    from negbench.harness.data import irds

    return fetching(dataset_id, lambda: irds.load_split(dataset_id, corpus, root),
                    staged_hint(dataset_id, root, ("queries", "qrels")), ("queries", "qrels"))

"""Shared fixtures: the real staged data, a tiny random BERT with the MiniLM tokenizer."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest -n N: the cores are shared between N workers (and the CLI subprocesses they
    # start), so each gets its share of torch's threads; set before torch is imported
    _workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _workers)))
_IRDS_HOME = Path(tempfile.mkdtemp(prefix="negbench-irds-"))
os.environ["IR_DATASETS_HOME"] = str(_IRDS_HOME)
atexit.register(shutil.rmtree, _IRDS_HOME, True)

from negbench.harness.data.paths import data_root


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The staged real data (../shared/data or $NEGBENCH_DATA)."""
    return data_root()


@pytest.fixture(scope="session")
def irds_home() -> Path:
    """A private ir_datasets cache for the whole session, seeded offline from the staged data.

    Set when this module is imported, before ranx/ir_datasets are imported anywhere: ir_datasets
    fixes parts of its cache location when first imported."""
    return _IRDS_HOME


@pytest.fixture(scope="session")
def scifact(irds_home, data_dir):
    """Real SciFact (train/test) loaded through ir_datasets."""
    from negbench.suites.loading import load_suite_data
    from negbench.suites.registry import get_suite

    return load_suite_data(get_suite("beir/scifact"), data_dir)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A random-initialised BERT (hidden 32, 2 layers) with the MiniLM tokenizer, saved as a
    SentenceTransformer folder (mean pooling + normalize)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    from negbench.harness.retrieval.models import resolve_model

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny-bert")
    tok = AutoTokenizer.from_pretrained(str(resolve_model("all-MiniLM-L6-v2")))
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    hf_dir = out / "hf"
    BertModel(cfg).save_pretrained(hf_dir)
    tok.save_pretrained(hf_dir)
    word = Transformer(str(hf_dir), max_seq_length=64)
    model = SentenceTransformer(modules=[word, Pooling(32, "mean"), Normalize()],
                                device="cpu")
    st_dir = out / "st"
    model.save(str(st_dir))
    return st_dir


@pytest.fixture(scope="session")
def tiny_encoder(tiny_model_dir, cache_dir):
    """The tiny model behind the cached Encoder interface (no progress bars)."""
    from negbench.harness.retrieval.encoder import CachedEncoder, SentenceTransformerEncoder
    from negbench.harness.retrieval.models import load_model

    return CachedEncoder(SentenceTransformerEncoder(load_model(str(tiny_model_dir)),
                                                    progress=False), cache_dir)


@pytest.fixture(scope="session")
def scifact_ctx(scifact, tiny_encoder, cache_dir):
    """A sampler's MiningContext on real SciFact: the tiny model as the dense encoder, BM25,
    seed 13, length 64."""
    from negbench.harness.retrieval.bm25 import BM25
    from negbench.strategies.base import MiningContext

    bm25 = BM25(scifact.corpus, cache_dir)
    return MiningContext(corpus=scifact.corpus, train=scifact.train, exclude=scifact.exclude,
                         seed=13, max_length=64, dense=lambda: tiny_encoder,
                         bm25=lambda: bm25, extra={"cache_dir": cache_dir})


def shared_dir(tmp_path_factory) -> Path:
    """A folder every worker of this test session sees: the session's base temp folder, or,
    under pytest-xdist, the folder that holds the workers' own base folders."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One embedding/index cache for the whole test session, shared by pytest-xdist's workers
    (encodings are computed once; the cache locks its own writes)."""
    path = shared_dir(tmp_path_factory) / "negbench-cache"
    path.mkdir(exist_ok=True)
    return path


# fp32 on every CPU (auto is bf16 on CPUs with native bf16): the committed regression
# baseline is fp32, and regress refuses a baseline of another precision
SMOKE_ARGS = ["run", "--suite", "beir/scifact", "--samplers", "in-batch,dense", "--seeds", "13",
              "--budget", "smoke", "--precision", "fp32"]


@pytest.fixture(scope="session")
def smoke_run(irds_home, cache_dir, tmp_path_factory):
    """The real smoke pipeline (all-MiniLM-L6-v2, SciFact, budget smoke), run once per test
    session through the CLI, by the first pytest-xdist worker that asks for it:
    ``(output folder, command, env, completed process)``. The regression baseline
    results/baselines/scifact-smoke.json comes from this same command."""
    import json
    import subprocess
    import sys

    from filelock import FileLock

    shared = shared_dir(tmp_path_factory)
    out, done = shared / "smoke", shared / "smoke.done.json"
    env = dict(os.environ, IR_DATASETS_HOME=str(irds_home), NEGBENCH_CACHE=str(cache_dir))
    cmd = [sys.executable, "-m", "negbench.harness.cli", *SMOKE_ARGS, "--output", str(out)]
    with FileLock(str(shared / "smoke.lock")):
        if not done.exists():
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            assert proc.returncode == 0, proc.stderr[-3000:]
            done.write_text(json.dumps({"stdout": proc.stdout, "stderr": proc.stderr}))
    seen = json.loads(done.read_text())
    proc = subprocess.CompletedProcess(cmd, 0, seen["stdout"], seen["stderr"])
    return out, cmd, env, proc


@pytest.fixture(scope="session")
def small(tmp_path_factory, data_dir) -> Path:
    """Real SciFact as a local BEIR folder, corpus cut to the judged docs (fast to load)."""
    from reliability_helpers import small_scifact

    return small_scifact(data_dir, tmp_path_factory.mktemp("beir") / "scifact-small")


@pytest.fixture()
def cli_env(irds_home, cache_dir) -> dict:
    """Environment for CLI subprocesses: the session's ir_datasets home and cache."""
    from reliability_helpers import env

    return env(irds_home, cache_dir)

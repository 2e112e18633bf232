"""Source bias (Cocktail, Dai et al. 2024): do retrievers prefer LLM-written text?

NFCorpus human documents are indexed together with their Llama-2-7b-chat rewrites
(``cocktail-nfcorpus-llm/``, same ``_id``s; a rewrite's id gets the suffix ``::llm``). For every
relevant (query, document) pair of the test split we compare the encoder's score of the
rewrite with that of the human original, and we measure nDCG@10 on the human-only index
against the mixed index (relevance on the originals), and, as Cocktail does, on the mixed
index with only the originals or only the rewrites relevant (relative delta).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from negbench.harness.data.collection import Corpus, Doc, Split
from negbench.harness.errors import NegbenchError

LLM_SUFFIX = "::llm"
LLM_FILE = "cocktail-nfcorpus-llm/llama-2-7b-chat-tmp0.2.jsonl"


def load_rewrites(data_root: Path | None, human: Corpus) -> Corpus:
    """The staged LLM rewrites, ids suffixed with ``::llm``; their ids must match ``human``."""
    from negbench.harness.data.beir_folder import read_corpus
    from negbench.harness.data.paths import data_root as resolve

    llm = read_corpus(resolve(data_root) / LLM_FILE)
    if set(llm.docs) != set(human.docs):
        raise NegbenchError(f"{llm.source}: ids differ from the human corpus "
                            f"({len(set(llm.docs) ^ set(human.docs))} not shared)")
    return Corpus({d + LLM_SUFFIX: Doc(d + LLM_SUFFIX, doc.title, doc.body)
                   for d, doc in llm.docs.items()}, source=llm.source)


def source_bias(encoder, human: Corpus, rewrites: Corpus, test: Split, max_length: int = 256,
                k: int = 1000, profile: str = "beir") -> dict:
    """Per relevant pair: does the rewrite outscore its original? And nDCG@10, human vs mixed.

    ``encoder`` is a ``negbench.harness.retrieval.encoder.Encoder``; ``rewrites`` come from
    ``load_rewrites``. Returns counts, rates and the nDCG@10 values (means over test queries).
    """
    from negbench.harness.evaluation.conventions import get_profile
    from negbench.harness.evaluation.evaluate import evaluate_run
    from negbench.harness.evaluation.measures import parse_measures
    from negbench.harness.retrieval.dense_search import search_run

    qids = sorted(test.queries)
    q_emb = encoder.encode([test.queries[q] for q in qids], "query", max_length)
    h_emb = encoder.encode(human.texts(), "doc", max_length)
    l_emb = encoder.encode(rewrites.texts(), "doc", max_length)
    h_row = {d: i for i, d in enumerate(human.ids)}
    l_row = {d: i for i, d in enumerate(rewrites.ids)}
    wins = ties = pairs = 0
    for r, q in enumerate(qids):
        for d, rel in test.qrels.get(q, {}).items():
            if rel < 1:
                continue
            hs = float(q_emb[r] @ h_emb[h_row[d]])
            ls = float(q_emb[r] @ l_emb[l_row[d + LLM_SUFFIX]])
            pairs += 1
            wins += ls > hs
            ties += ls == hs
    prof = get_profile(profile)
    measures = parse_measures(["nDCG@10"])
    human_run = search_run(qids, q_emb, human.ids, h_emb, k)
    mixed_ids = human.ids + rewrites.ids
    mixed_run = search_run(qids, q_emb, mixed_ids, np.vstack([h_emb, l_emb]), k)
    llm_qrels = {q: {d + LLM_SUFFIX: r for d, r in j.items()} for q, j in test.qrels.items()}

    def ndcg(qrels, run) -> float:
        return evaluate_run(qrels, run, measures, prof).means["nDCG@10"]

    human_only = ndcg(test.qrels, human_run)
    mixed_h, mixed_l = ndcg(test.qrels, mixed_run), ndcg(llm_qrels, mixed_run)
    top10 = [d for q in qids for d, _ in mixed_run[q][:10]]
    return {
        "relevant_pairs": pairs,
        "rewrite_outscores_human": wins,
        "ties": ties,
        "rewrite_preference_rate": wins / pairs if pairs else float("nan"),
        # human-only index vs mixed index, relevance on the human originals only
        "nDCG@10_human_index": human_only,
        "nDCG@10_mixed_human_relevant": mixed_h,
        "delta_nDCG@10": mixed_h - human_only,
        # Cocktail's source-bias view on the mixed index: only rewrites relevant; relative
        # delta = (human - llm) / mean(human, llm); negative = the retriever prefers LLM text
        "nDCG@10_mixed_llm_relevant": mixed_l,
        "relative_delta_nDCG@10": (mixed_h - mixed_l) / ((mixed_h + mixed_l) / 2)
        if mixed_h + mixed_l else float("nan"),
        "llm_share_of_top10": sum(d.endswith(LLM_SUFFIX) for d in top10) / max(len(top10), 1),
        "test_queries": len(qids),
        "max_length": max_length,
    }

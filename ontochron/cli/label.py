"""``ontochron label``: label a stored run's features (LLM, embedding centroid or contrastive),
score the labels, cache them and write them onto the graph as versioned Label nodes."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, not {text!r}"
                                         ) from None


def register(subparsers: Any) -> None:
    """Add the ``label`` sub-command."""
    from ontochron.cli.options import add_store_arguments
    from ontochron.labels.result import METHODS

    p = subparsers.add_parser(
        "label", help="label features (LLM, embedding or contrastive), scored and cached",
        description="Label the features of a stored run at chosen checkpoints from the concepts "
                    "that activate them and contrasting ones that do not. Labels are scored "
                    "by detection on held-out concepts, cached by content (nothing is labelled "
                    "twice) and written as versioned Label nodes, the latest mirrored onto "
                    "Feature.label.")
    p.add_argument("--run", metavar="NAME", default=None,
                   help="run to label (default: the only run in the store)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--features", type=_ints, metavar="1,2,3", default=None,
                       help="feature indices to label (default: all)")
    which.add_argument("--unlabeled", action="store_true",
                       help="only features without a label yet (no Feature.label)")
    which.add_argument("--changed-since", type=int, metavar="STEP", default=None,
                       help="only features whose activating concepts changed after STEP")
    p.add_argument("--method", choices=METHODS, default="llm", help="labeler (default llm)")
    p.add_argument("--at", type=_ints, metavar="STEP[,STEP]", default=None,
                   help="checkpoint step(s) to label at (default: the last checkpoint)")
    p.add_argument("--max-cost-usd", type=float, metavar="X", default=None,
                   help="stop before the estimated LLM cost would exceed X dollars")
    p.add_argument("--concurrency", type=int, metavar="N", default=4,
                   help="LLM requests in flight at once (default 4)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the prompts and the estimated tokens and cost; call nothing, "
                        "write nothing")
    llm = p.add_argument_group("LLM labeler (any OpenAI-compatible endpoint)")
    llm.add_argument("--base-url", metavar="URL", default=os.environ.get("OPENAI_BASE_URL"),
                     help="API base URL, e.g. http://localhost:8000/v1 for vLLM or "
                          "http://localhost:11434/v1 for Ollama (default: $OPENAI_BASE_URL, "
                          "else OpenAI)")
    llm.add_argument("--model", metavar="M", default=None,
                     help="model name (default: $ONTOCHRON_LABEL_MODEL or gpt-4o-mini)")
    llm.add_argument("--api-key-env", metavar="VAR", default="OPENAI_API_KEY",
                     help="environment variable holding the API key (default OPENAI_API_KEY)")
    llm.add_argument("--price-in", type=float, metavar="USD", default=None,
                     help="dollars per 1k prompt tokens (default 0.00015, gpt-4o-mini)")
    llm.add_argument("--price-out", type=float, metavar="USD", default=None,
                     help="dollars per 1k completion tokens (default 0.0006, gpt-4o-mini)")
    llm.add_argument("--timeout", type=float, metavar="S", default=60.0,
                     help="seconds per request (default 60)")
    emb = p.add_argument_group("embedding / contrastive labelers (offline)")
    emb.add_argument("--embeddings", metavar="FILE", default=None,
                     help="concept embeddings (.npz or .safetensors; see docs/labels.md)")
    emb.add_argument("--vocab", metavar="FILE", default=None,
                     help="candidate labels with embeddings in the same space (same format)")
    ev = p.add_argument_group("evidence and cache")
    ev.add_argument("--max-examples", type=int, default=20, metavar="N",
                    help="activating concepts shown per feature (default 20)")
    ev.add_argument("--max-contrast", type=int, default=20, metavar="N",
                    help="contrasting concepts shown per feature (default 20)")
    ev.add_argument("--seed", type=int, default=0, help="seed of the example/held-out split")
    ev.add_argument("--cache-dir", metavar="DIR", default=None,
                    help="label cache directory (default: $ONTOCHRON_LABEL_CACHE or "
                         "./.ontochron/label-cache)")
    ev.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_store_arguments(p)
    p.set_defaults(func=run)


def _labeler(args: argparse.Namespace) -> Any:
    from ontochron.errors import InputError
    from ontochron.labels.cost import Pricing
    from ontochron.labels.embedding import EmbeddingLabeler, load_vectors
    from ontochron.labels.llm import LLMConfig, LLMLabeler

    if args.method in ("embedding", "contrastive"):
        if not args.embeddings or not args.vocab:
            raise InputError(f"--method {args.method} needs --embeddings FILE and --vocab FILE")
        return EmbeddingLabeler(load_vectors(args.embeddings), load_vectors(args.vocab),
                                contrastive=args.method == "contrastive")
    key = os.environ.get(args.api_key_env) or None
    if key is None and not args.base_url and not args.dry_run:
        raise InputError(f"the LLM labeler needs an API key in ${args.api_key_env} "
                         "(or --base-url for a local server that needs none)")
    default = Pricing()
    pricing = Pricing(default.input_per_1k if args.price_in is None else args.price_in,
                      default.output_per_1k if args.price_out is None else args.price_out)
    cfg = LLMConfig(model=args.model or os.environ.get("ONTOCHRON_LABEL_MODEL") or "gpt-4o-mini",
                    base_url=args.base_url, api_key=key, api_key_env=args.api_key_env,
                    timeout=args.timeout, pricing=pricing)
    return LLMLabeler(cfg)


def _dry_run(store: Any, labeler: Any, args: argparse.Namespace, evidence: Any,
             cache: Any) -> int:
    from ontochron.labels import graph as lg
    from ontochron.labels.pipeline import plan

    run_id = lg.resolve_run(store, args.run)
    steps = lg.choose_steps(store, run_id, args.at)
    feats = lg.select_features(store, run_id, features=args.features,
                               unlabeled=args.unlabeled, changed_since=args.changed_since)
    evs = [e for s in steps for e in lg.read_evidence(store, run_id, s, feats, evidence)]
    plans = plan(labeler, evs, cache)
    for pl in plans:
        e = pl.evidence
        print(f"=== feature {e.feature} at step {e.step}"
              + (" (cached)" if pl.cached else f": ~{pl.prompt_tokens} prompt + "
                 f"<= {pl.completion_tokens} completion tokens, ~${pl.usd:.6f}"))
        for m in pl.messages:
            print(f"--- {m['role']}\n{m['content']}")
    todo = [pl for pl in plans if not pl.cached]
    print(f"dry run: {len(evs)} feature-steps, {len(plans)} distinct, {len(todo)} to label; "
          f"estimated {sum(p.prompt_tokens for p in todo)} prompt + "
          f"{sum(p.completion_tokens for p in todo)} completion tokens, "
          f"${sum(p.usd for p in todo):.4f} (label + detection requests; nothing was called)")
    return 0


def run(args: argparse.Namespace) -> int:
    """Label, then print a summary; exit code 1 when any label asked for could not be produced
    (failed, over --max-cost-usd, or not started after an API error stopped the run)."""
    from ontochron.errors import InputError
    from ontochron.graph.store import open_store_from_args
    from ontochron.labels.cache import DEFAULT_CACHE_DIR, LabelCache
    from ontochron.labels.evidence import EvidenceConfig
    from ontochron.labels.pipeline import label_run

    if args.concurrency < 1:
        raise InputError(f"--concurrency must be >= 1, got {args.concurrency}")
    if args.max_cost_usd is not None and args.max_cost_usd < 0:
        raise InputError(f"--max-cost-usd must be >= 0, got {args.max_cost_usd}")
    labeler = _labeler(args)
    evidence = EvidenceConfig(max_examples=args.max_examples, max_contrast=args.max_contrast,
                              seed=args.seed)
    cache = None if args.no_cache else LabelCache(
        args.cache_dir or os.environ.get("ONTOCHRON_LABEL_CACHE") or DEFAULT_CACHE_DIR)
    try:
        with open_store_from_args(args) as store:
            if args.dry_run:
                return _dry_run(store, labeler, args, evidence, cache)
            rep = label_run(store, labeler, run_id=args.run, steps=args.at,
                            features=args.features, unlabeled=args.unlabeled,
                            changed_since=args.changed_since, evidence=evidence, cache=cache,
                            max_cost_usd=args.max_cost_usd, concurrency=args.concurrency,
                            progress=not args.quiet)
    finally:
        if cache is not None:
            cache.close()
    if rep.not_produced:  # the summary ends with "N of M labels could not be produced: ..."
        print(rep.summary() if not args.quiet else rep.shortfall(), file=sys.stderr)
        return 1
    if not args.quiet:
        print(rep.summary())
    return 0

"""Generate a Neo4j Bloom perspective for the ontochron graph schema: one category per node
label (captions, colours, typed properties so Bloom's Slicer can play the integer steps),
the relationship types, and search phrases for the named queries (``queries/cypher/bloom``)."""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ontochron.errors import InputError
from ontochron.graph.cypher import iter_cypher_files, load_cypher, parameters

PERSPECTIVE_NAME = "ontochron"
PERSPECTIVE_VERSION = "2.3.0"
_INT, _FLOAT, _STR, _LIST = "bigint", "number", "string", "array"
_EVENT = [("run_id", _STR), ("uid", _STR), ("kind", _STR), ("step", _INT)]
_INTERVAL = [("run_id", _STR), ("valid_from", _INT), ("valid_to", _INT), ("fork", _INT)]

# label -> (colour, size, caption keys, [(property, Bloom data type)]), from docs/schema.md
# (with its Label part) and the CausalTest nodes `ontochron verify` writes. Specific event labels come before ``Event``:
# Bloom styles a node by its first matching category.
CATEGORIES: dict[str, tuple[str, float, list[str], list[tuple[str, str]]]] = {
    "Run": ("#D9C8AE", 3.0, ["run_id"],
            [("run_id", _STR), ("name", _STR), ("status", _STR), ("n_features", _INT),
             ("n_concepts", _INT), ("n_checkpoints", _INT), ("first_step", _INT),
             ("last_step", _INT), ("steps", _LIST), ("mode", _STR), ("created_at", _STR)]),
    "Checkpoint": ("#A5ABB6", 1.5, ["step"],
                   [("run_id", _STR), ("step", _INT), ("ordinal", _INT),
                    ("n_concepts", _INT), ("entropy", _FLOAT), ("churn", _FLOAT),
                    ("utilization", _FLOAT)]),
    "Concept": ("#4C8EDA", 2.0, ["name"],
                [("run_id", _STR), ("name", _STR), ("index", _INT), ("first_seen", _INT),
                 ("last_seen", _INT)]),
    "Feature": ("#FFC454", 1.0, ["label", "index"],
                [("run_id", _STR), ("index", _INT), ("label", _STR), ("label_score", _FLOAT),
                 ("label_method", _STR), ("label_step", _INT), ("label_id", _STR),
                 ("valid_from", _INT), ("valid_to", _INT), ("birth_step", _INT),
                 ("death_step", _INT), ("stability", _FLOAT), ("layer", _INT),
                 ("first_stable_step", _INT), ("activation_rate", _LIST),
                 ("first_step", _INT), ("last_step", _INT), ("end_step", _INT),
                 ("origin", _STR), ("fate", _STR), ("dict_index", _LIST),
                 ("drift_prev", _LIST), ("drift_first", _LIST)]),
    "Triad": ("#C990C0", 0.75, ["output"],
              [("run_id", _STR), ("input_a", _INT), ("input_b", _INT), ("output", _INT),
               ("valid_from", _INT), ("valid_to", _INT), ("interaction", _FLOAT)]),
    "Birth": ("#8DCC93", 0.75, ["kind", "step"], [*_EVENT, ("concept", _STR),
                                                  ("feature", _INT)]),
    "Death": ("#F16667", 0.75, ["kind", "step"], [*_EVENT, ("concept", _STR),
                                                  ("feature", _INT)]),
    "ConnectionForm": ("#57C7E3", 0.75, ["kind", "step"],
                       [*_EVENT, ("concept", _STR), ("partner", _STR), ("shared", _INT)]),
    "ConnectionBreak": ("#F79767", 0.75, ["kind", "step"],
                        [*_EVENT, ("concept", _STR), ("partner", _STR), ("shared", _INT)]),
    "PhaseTransition": ("#DA7194", 1.5, ["metric", "step"],
                        [*_EVENT, ("metric", _STR), ("delta", _FLOAT), ("direction", _STR),
                         ("z", _FLOAT)]),
    "Split": ("#B5A642", 1.0, ["kind", "step"],
              [*_EVENT, ("feature", _INT), ("sources", _LIST), ("targets", _LIST),
               ("cosines", _LIST)]),
    "Merge": ("#6D5BA8", 1.0, ["kind", "step"],
              [*_EVENT, ("feature", _INT), ("sources", _LIST), ("targets", _LIST),
               ("cosines", _LIST)]),
    "Event": ("#959AA1", 0.75, ["kind", "step"], _EVENT),
    "CausalTest": ("#569480", 0.75, ["effect"],
                   [("run_id", _STR), ("feature", _INT), ("step", _INT), ("method", _STR),
                    ("effect", _FLOAT), ("ci_low", _FLOAT), ("ci_high", _FLOAT),
                    ("p", _FLOAT), ("q", _FLOAT), ("causal", "boolean"),
                    ("selectivity", _FLOAT), ("hedges_g", _FLOAT), ("dict_index", _INT)]),
    "Label": ("#ECB5C9", 0.75, ["text"],
              [("run_id", _STR), ("label_id", _STR), ("text", _STR), ("method", _STR),
               ("model", _STR), ("score", _FLOAT), ("step", _INT), ("feature", _INT),
               ("explanation", _STR), ("confidence", _FLOAT), ("prompt_version", _STR),
               ("created_at", _STR), ("evidence_hash", _STR)]),
    "Primitive": ("#F4A261", 2.5, ["name"],
                  [("run_id", _STR), ("name", _STR), ("feature", _INT), ("layer", _INT),
                   ("definition", _STR), ("hypothesis", _STR)]),
}
# relationship type -> (colour, [(property, data type)])
RELATIONSHIPS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "ACTIVATES": ("#A5ABB6", _INTERVAL),
    "CONNECTED": ("#4C8EDA", [*_INTERVAL, ("shared", _FLOAT)]),
    "DUAL": ("#F16667", [*_INTERVAL, ("phi", _FLOAT)]),
    "DEPENDS_ON": ("#8DCC93", [*_INTERVAL, ("confidence", _FLOAT)]),
    "PARENT_OF": ("#FFC454", _INTERVAL),
    "AND_INPUT": ("#C990C0", [("run_id", _STR)]),
    "AND_OUTPUT": ("#C990C0", [("run_id", _STR)]),
    "HAS_CHECKPOINT": ("#D9C8AE", [("run_id", _STR)]),
    "NEXT": ("#D9C8AE", [("run_id", _STR)]),
    "AT": ("#D9D9D9", [("run_id", _STR)]),
    "OF_CONCEPT": ("#D9D9D9", [("run_id", _STR)]),
    "OF_FEATURE": ("#D9D9D9", [("run_id", _STR)]),
    "WITH_CONCEPT": ("#D9D9D9", [("run_id", _STR)]),
    "DESCRIBES": ("#ECB5C9", _INTERVAL),
    "TESTS": ("#569480", []),
    "ASSIGNED_TO": ("#F4A261", [("run_id", _STR)]),
    "EXPECTS_DEPENDENCY": ("#2A9D8F", [*_INTERVAL, ("status", _STR), ("confidence", _FLOAT),
                                       ("q_value", _FLOAT), ("q_contra", _FLOAT)]),
    "EXPECTS_DUAL": ("#E76F51", [*_INTERVAL, ("status", _STR), ("phi", _FLOAT),
                                 ("q_value", _FLOAT), ("q_contra", _FLOAT)]),
    "SPLITS_INTO": ("#B5A642", [("run_id", _STR), ("step", _INT), ("cosine", _FLOAT)]),
    "MERGES_INTO": ("#6D5BA8", [("run_id", _STR), ("step", _INT), ("cosine", _FLOAT)]),
    "SAME_AS": ("#4C8EDA", [("kind", _STR), ("cosine", _FLOAT), ("run_a", _STR),
                            ("run_b", _STR), ("step_a", _INT), ("step_b", _INT)]),
}
_BLOOM_TYPES = {"int": "Integer", "float": "Float", "string": "String", "bool": "Boolean"}
_PHRASE = re.compile(r"^//\s*@phrase\s+(.+)$", re.M)
_PARAM = re.compile(r"^//\s*@param\s+(\w+)\s+(\w+)(?:\s+(\w+)\.(\w+))?\s", re.M)


@dataclass(frozen=True)
class SearchPhrase:
    """A Bloom search phrase: its text (``$name`` placeholders), Cypher and parameters
    as (name, ontochron type, suggestion label, suggestion property)."""

    name: str
    text: str
    cypher: str
    params: tuple[tuple[str, str, str | None, str | None], ...]


def search_phrases() -> list[SearchPhrase]:
    """Every phrase shipped in ``queries/cypher/bloom/*.cypher``, sorted by file name."""
    out = []
    for path in iter_cypher_files():
        if path.parent.name != "bloom":
            continue
        text = load_cypher(f"queries/cypher/bloom/{path.name}")
        m = _PHRASE.search(text)
        if not m:
            raise InputError("a Bloom search phrase needs a '// @phrase TEXT' line", path)
        params = tuple((p, t, lab, prop) for p, t, lab, prop in _PARAM.findall(text))
        declared = {p[0] for p in params}
        if declared != parameters(text) or any(t not in _BLOOM_TYPES for _, t, *_ in params):
            raise InputError(f"@param lines must declare exactly {sorted(parameters(text))} "
                             f"with a type in {sorted(_BLOOM_TYPES)}", path)
        out.append(SearchPhrase(path.stem, m.group(1).strip(), text, params))
    return out


def _category(i: int, label: str, now: int) -> dict[str, Any]:
    colour, size, captions, props = CATEGORIES[label]
    return {
        "id": i, "name": label, "labels": [label], "color": colour, "size": size,
        "icon": "no-icon", "textSize": 1, "textAlign": "top", "createdAt": now,
        "lastEditedAt": now, "styleRules": [],
        "properties": [{"name": p, "exclude": p == "fork", "dataType": t} for p, t in props],
        "captionKeys": captions,
        "captions": [{"key": k, "type": "property", "isCaption": True, "inTooltip": True,
                      "styles": []} for k in captions],
    }


def _template(i: int, ph: SearchPhrase, now: int) -> dict[str, Any]:
    return {
        "id": f"ontochron-{ph.name}", "name": ph.text, "text": ph.text, "cypher": ph.cypher,
        "createdAt": now + i, "isUpdateQuery": False, "hasCypherErrors": False,
        "params": [{"name": f"${p}", "dataType": _BLOOM_TYPES[t], "collapsed": False,
                    "suggestionLabel": lab or None, "suggestionProp": prop or None,
                    "suggestionBoolean": False, "cypher": None}
                   for p, t, lab, prop in ph.params],
    }


def build_perspective(name: str = PERSPECTIVE_NAME, now: int = 0) -> dict[str, Any]:
    """The perspective document (``now``: creation time in ms, 0 keeps output reproducible)."""
    labels = list(CATEGORIES)
    phrases = search_phrases()
    return {
        "name": name, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ontochron/{name}")),
        "version": PERSPECTIVE_VERSION, "type": "STANDARD_PERSPECTIVE",
        "createdAt": now, "lastEditedAt": now, "isAuto": False, "parentPerspectiveId": None,
        "categories": [_category(i + 1, lab, now) for i, lab in enumerate(labels)],
        "labels": {lab: [{"propertyKey": p, "type": lab, "dataType": t}
                         for p, t in CATEGORIES[lab][3]] for lab in labels},
        "relationshipTypes": [
            {"id": t, "name": t, "color": c, "size": 1, "textSize": 1, "textAlign": "top",
             "captionKeys": ["0_REL_TYPE_CAPTION_KEY"], "styleRules": [],
             "properties": [{"propertyKey": p, "type": t, "dataType": d} for p, d in props]}
            for t, (c, props) in RELATIONSHIPS.items()],
        "templates": [_template(i, ph, now) for i, ph in enumerate(phrases)],
        "sceneActions": [], "hiddenRelationshipTypes": [], "hiddenCategories": [],
        "hideUncategorisedData": False, "history": [],
        "palette": {"colors": sorted({c for c, *_ in CATEGORIES.values()}),
                    "currentIndex": 0},
        "metadata": {"pathSegments": [], "indexes": [], "stats": {}},
    }


def write_perspective(path: str | os.PathLike[str], name: str = PERSPECTIVE_NAME) -> Path:
    """Write the perspective JSON to ``path`` (import it in Bloom: Perspectives -> Import)."""
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(build_perspective(name), indent=1), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the perspective: {exc}", out) from exc
    return out

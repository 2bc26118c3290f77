"""``watch --alert``: rules for what continual-learning users watch for (forgetting), checked
on every checkpoint as it reaches the graph, and the ``--on-alert`` hook.

Rules (``--alert NAME=VALUE``, repeatable):

* ``deaths=N``: more than N deaths (a concept losing a feature) at one checkpoint;
* ``lineage-deaths=N``: more than N feature lineages ending at one checkpoint (SAE runs);
* ``connections-broken=N``: more than N concept connections broken at one checkpoint;
* ``concept-loses=F``: a concept whose code has at least F (a fraction in (0, 1]) fewer
  features than at the previous checkpoint (one alert per such concept).

The hook command is split like a shell would (``shlex``) once, and run *without* a shell for
each alert; the alert reaches it only as environment variables (``ONTOCHRON_ALERT_RULE``,
``_STEP``, ``_VALUE``, ``_THRESHOLD``, ``_RUN``, ``_CONCEPT``, ``_MESSAGE``), never
interpolated into a command line.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from dataclasses import dataclass
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.ingest.snapshot import CodeStack
from ontochron.stepcounts import concept_feature_counts

log = logging.getLogger(__name__)

#: rule name -> (step count it compares, True when VALUE is a fraction)
RULES: dict[str, tuple[str | None, bool]] = {
    "deaths": ("deaths", False),
    "lineage-deaths": ("lineage_deaths", False),
    "connections-broken": ("connections_broken", False),
    "concept-loses": (None, True),
}
HOOK_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class AlertRule:
    """One ``--alert NAME=VALUE``."""

    name: str
    value: float

    @classmethod
    def parse(cls, text: str) -> AlertRule:
        """``NAME=VALUE`` -> rule; anything else is an InputError naming the rules."""
        name, sep, raw = text.partition("=")
        name = name.strip().lower()
        if not sep or name not in RULES:
            raise InputError(f"--alert {text!r}: expected NAME=VALUE with NAME one of "
                             f"{', '.join(RULES)}")
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"--alert {text!r}: {raw!r} is not a number") from None
        fraction = RULES[name][1]
        if fraction and not 0.0 < value <= 1.0:
            raise InputError(f"--alert {text!r}: a fraction in (0, 1] is needed")
        if not fraction and (value < 0 or not value.is_integer()):
            raise InputError(f"--alert {text!r}: a whole number >= 0 is needed")
        return cls(name, value)


@dataclass(frozen=True)
class Alert:
    """One rule that fired at one checkpoint."""

    rule: str
    step: int
    value: float
    threshold: float
    concept: str | None = None

    @property
    def message(self) -> str:
        if self.concept is not None:
            return (f"step {self.step}: concept {self.concept!r} lost {self.value:.0%} of its "
                    f"features (alert at {self.threshold:.0%})")
        return (f"step {self.step}: {self.rule} {self.value:g} > {self.threshold:g}")


def check(rules: list[AlertRule], step: int, counts: dict[str, Any], stack: CodeStack,
          t: int) -> list[Alert]:
    """The alerts of checkpoint index ``t`` (step ``step``) of ``stack``."""
    out: list[Alert] = []
    for rule in rules:
        key = RULES[rule.name][0]
        if key is not None:
            v = counts.get(key)
            if v is not None and v > rule.value:
                out.append(Alert(rule.name, step, float(v), rule.value))
            continue
        if t == 0:
            continue
        before = concept_feature_counts(stack, t - 1)
        now = concept_feature_counts(stack, t)
        both = np.asarray(stack.present[t - 1], bool) & np.asarray(stack.present[t], bool)
        lost = np.zeros(before.size)
        has = both & (before > 0)
        lost[has] = (before[has] - now[has]) / before[has]
        for c in np.flatnonzero(has & (lost >= rule.value)).tolist():
            out.append(Alert(rule.name, step, float(lost[c]), rule.value, stack.concepts[c]))
    return out


def parse_hook(command: str | None) -> list[str] | None:
    """``--on-alert CMD`` as an argument vector (split once, never run through a shell)."""
    if command is None:
        return None
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise InputError(f"--on-alert {command!r}: {exc}") from None
    if not argv:
        raise InputError("--on-alert needs a command")
    return argv


def run_hook(argv: list[str], alert: Alert, run_id: str) -> int | None:
    """Run the hook for one alert (alert fields as environment variables); its exit code, or
    None when it could not be started or timed out (logged)."""
    env = dict(os.environ, ONTOCHRON_ALERT_RULE=alert.rule, ONTOCHRON_ALERT_STEP=str(alert.step),
               ONTOCHRON_ALERT_VALUE=f"{alert.value:g}",
               ONTOCHRON_ALERT_THRESHOLD=f"{alert.threshold:g}", ONTOCHRON_ALERT_RUN=run_id,
               ONTOCHRON_ALERT_CONCEPT=alert.concept or "", ONTOCHRON_ALERT_MESSAGE=alert.message)
    try:
        return subprocess.run(argv, env=env, shell=False, stdin=subprocess.DEVNULL,
                              timeout=HOOK_TIMEOUT_S, check=False).returncode
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("--on-alert %s failed: %s", argv[0], exc)
        return None

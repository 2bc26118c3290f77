"""What the report says about how a run was analysed: the connection null and the thresholds
the run actually used (summary.json ``thresholds`` = ``Run.config``), never a fixed text."""

from __future__ import annotations

from typing import Any

_NULLS = {
    "hypergeometric": "hypergeometric test (every feature equally likely)",
    "bicm": "BiCM null (concept sizes and feature popularities kept in expectation)",
    "fdsm": "FDSM null (sizes and popularities kept exactly; Monte Carlo)",
}


def thresholds(summary: dict[str, Any]) -> dict[str, Any]:
    """The run's detection thresholds ({} when the run did not record them)."""
    t = summary.get("thresholds")
    return t if isinstance(t, dict) else {}


def _nulls_used(summary: dict[str, Any]) -> dict[str, int]:
    """Checkpoints per null actually used (``power.connection.nulls``; "auto" resolves per
    checkpoint), {} when not recorded."""
    power = summary.get("power")
    conn = power.get("connection") if isinstance(power, dict) else None
    got = conn.get("nulls") if isinstance(conn, dict) else None
    return {str(k): int(v) for k, v in got.items()} if isinstance(got, dict) else {}


def connection_test(summary: dict[str, Any]) -> str:
    """The connection test as run: null, BH level and minimum overlap."""
    t = thresholds(summary)
    if t.get("mode") == "reptimeline":
        return (f"reptimeline's heuristic co-activation thresholds (BH alpha = "
                f"{t.get('bh_alpha', '?')})")
    if not t:
        return "a per-checkpoint overlap test (this run did not record its null or thresholds)"
    null = str(t.get("connection_null", "?"))
    used = _nulls_used(summary)
    if null == "auto":
        how = ("auto: " + ", ".join(f"{_NULLS.get(k, k)} at {v} checkpoint{'s' * (v != 1)}"
                                    for k, v in sorted(used.items()))
               if used else "auto (FDSM null on small checkpoints, else BiCM null)")
    else:
        how = _NULLS.get(null, f"{null} null")
    if null == "fdsm" or "fdsm" in used:
        how += f", {t.get('null_samples', '?')} samples"
    return (f"{how}, Benjamini-Hochberg at alpha = {t.get('alpha', '?')}, at least "
            f"{t.get('min_shared', '?')} shared feature{'s' * (t.get('min_shared') != 1)}")


def phase_rule(summary: dict[str, Any]) -> str:
    """The phase-transition rule as run."""
    t = thresholds(summary)
    if t.get("mode") == "reptimeline":
        return f"|jump| above mean + {t.get('phase_sigma', '?')} standard deviations"
    if not t:
        return "a jump far outside the curve's usual change (threshold not recorded)"
    if t.get("phase_rule") == "mean_std":
        return (f"|jump| above mean + {t.get('phase_sigma', '?')} standard deviations of the "
                "curve's step-to-step changes")
    return (f"robust z of |jump| (median / MAD of the curve's step-to-step changes) above "
            f"{t.get('phase_z', '?')}, and |jump| above {t.get('phase_min_delta', '?')}")

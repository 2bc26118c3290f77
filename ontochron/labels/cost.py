"""Token estimates and a spending budget for LLM labelling: ``--max-cost-usd`` stops before
the (estimated) cost would exceed the budget; ``--dry-run`` prints the same estimates."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

#: Rule of thumb used when no tokenizer is installed: one token per four characters.
CHARS_PER_TOKEN = 4
#: Tokens added per chat message for role and framing.
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_tokens(text: str) -> int:
    """Estimated tokens in ``text``: tiktoken's o200k encoding when installed, else the
    documented ``ceil(chars / 4)`` rule."""
    enc = _encoding()
    if enc is not None:
        return len(enc.encode(text, disallowed_special=()))
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_messages(messages: list[dict[str, str]], extra: str = "") -> int:
    """Estimated prompt tokens of a chat request (message texts, framing, ``extra`` such as
    the JSON schema sent as ``response_format``)."""
    return (sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)
            + (estimate_tokens(extra) if extra else 0))


_ENC: list[object] = []


def _encoding() -> object | None:
    if not _ENC:
        try:
            import tiktoken  # optional
            _ENC.append(tiktoken.get_encoding("o200k_base"))
        except Exception:  # not installed, or its data cannot be loaded offline
            _ENC.append(None)
    return _ENC[0]  # type: ignore[return-value]


@dataclass(frozen=True)
class Pricing:
    """US dollars per 1,000 prompt (input) and completion (output) tokens. The defaults are
    gpt-4o-mini's list prices; set them for your model (0 for a local server)."""

    input_per_1k: float = 0.00015
    output_per_1k: float = 0.0006

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Dollars for one request with these token counts."""
        return (prompt_tokens * self.input_per_1k + completion_tokens * self.output_per_1k) / 1000


class Budget:
    """Thread-safe spending limit: a job reserves its worst-case estimate before it starts
    and settles to the actual cost after; a reservation that would exceed the limit fails."""

    def __init__(self, max_usd: float | None) -> None:
        if max_usd is not None and max_usd < 0:
            raise ValueError("the budget must be >= 0")
        self.max_usd = max_usd
        self.spent = 0.0
        self.reserved = 0.0
        self._lock = threading.Lock()

    def try_reserve(self, usd: float) -> bool:
        """Reserve ``usd`` if spent + reserved + usd stays within the limit."""
        with self._lock:
            if self.max_usd is not None and self.spent + self.reserved + usd > self.max_usd:
                return False
            self.reserved += usd
            return True

    def settle(self, reserved: float, actual: float) -> None:
        """Release a reservation and record what was actually spent."""
        with self._lock:
            self.reserved = max(0.0, self.reserved - reserved)
            self.spent += actual

"""Follow training as it happens: ``ontochron watch`` (a checkpoint directory into the graph),
:class:`Monitor` (from the training loop), alerts for forgetting (docs/watch.md)."""

from ontochron.watch.monitor import Monitor

__all__ = ["Monitor"]

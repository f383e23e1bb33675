"""Transaction plumbing: execution context, gas, events, decoding, ante chain and routing."""

from sultan.kernel.tx.context import BlockInfo, Context, ExecMode
from sultan.kernel.tx.events import Event, EventManager
from sultan.kernel.tx.gas import GasMeter, InfiniteGasMeter

__all__ = [
    "BlockInfo",
    "Context",
    "Event",
    "EventManager",
    "ExecMode",
    "GasMeter",
    "InfiniteGasMeter",
]

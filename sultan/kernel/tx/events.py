"""Events emitted during execution, in the shape ABCI carries them."""

from __future__ import annotations

import attrs


@attrs.frozen
class Attribute:
    key: str
    value: str
    index: bool = True


@attrs.frozen
class Event:
    type: str
    attributes: tuple[Attribute, ...] = ()

    @classmethod
    def of(cls, type_: str, *pairs: tuple[str, str], index: bool = True) -> Event:
        return cls(type_, tuple(Attribute(k, v, index) for k, v in pairs))


class EventManager:
    """Collects events in emission order; a failed message's manager is simply dropped."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        if not event.type:
            raise ValueError("event type must be non-empty")
        self.events.append(event)

    def emit_many(self, events: list[Event]) -> None:
        for event in events:
            self.emit(event)

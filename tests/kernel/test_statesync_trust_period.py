"""The follower's trusted block must be younger than `statesync.trust_period`."""

from __future__ import annotations

import pytest

from sultan.kernel.timeutil import NS_PER_MS, NS_PER_S
from sultan.pb.tendermint.types import types_pb2
from sultan.statesync import StateSyncError, _check_trust_period

MADE = 1_700_000_000 * NS_PER_S + 123_456_789  # the block's header time, Unix ns
PERIOD_MS = 3_600_000  # 1h


def _header() -> types_pb2.Header:
    header = types_pb2.Header(height=42)
    header.time.seconds, header.time.nanos = divmod(MADE, NS_PER_S)
    return header


@pytest.mark.parametrize("age_ns", [0, 1, PERIOD_MS * NS_PER_MS])
def test_a_block_within_the_period_is_trusted(age_ns: int) -> None:
    _check_trust_period(_header(), 42, PERIOD_MS, MADE + age_ns)


def test_a_block_from_the_future_is_not_expired() -> None:
    # Clock skew is not the trust period's business: the hash check already pinned it.
    _check_trust_period(_header(), 42, PERIOD_MS, MADE - 10 * NS_PER_S)


def test_an_older_block_is_refused_with_its_age_and_the_period() -> None:
    with pytest.raises(StateSyncError) as exc:
        _check_trust_period(_header(), 42, PERIOD_MS, MADE + PERIOD_MS * NS_PER_MS + 1)
    assert str(exc.value).startswith(
        "trusted block 42 was made 1h0m0.000000001s ago (2023-11-14T22:13:20.123456789Z), "
        "longer than statesync.trust_period (1h0m0s): "
    )

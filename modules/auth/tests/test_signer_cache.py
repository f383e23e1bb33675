"""The ante's signer-list memo holds only usual txs, so its memory stays small."""

from __future__ import annotations

from types import SimpleNamespace

from sultan_auth import ante

from sultan.kernel.address import ACCOUNT_CODEC


def fake_tx(signers: tuple[str, ...], payer: str = "") -> SimpleNamespace:
    return SimpleNamespace(
        signers=signers, auth_info=SimpleNamespace(fee=SimpleNamespace(payer=payer))
    )


def test_usual_txs_are_memoized_long_signer_lists_are_not() -> None:
    addresses = tuple(ACCOUNT_CODEC.to_string(bytes([i]) * 20) for i in range(1, 21))
    before = ante._signers.cache_info().currsize
    usual = ante.tx_signers(fake_tx(addresses[:2]))  # type: ignore[arg-type]
    assert [name for name, _ in usual] == list(addresses[:2])
    assert ante._signers.cache_info().currsize == before + 1

    many = ante.tx_signers(fake_tx(addresses, payer=addresses[0]))  # type: ignore[arg-type]
    assert [raw for _, raw in many] == [bytes([i]) * 20 for i in range(1, 21)]
    assert ante._signers.cache_info().currsize == before + 1  # > 512 characters: not kept

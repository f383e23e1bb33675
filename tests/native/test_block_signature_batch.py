"""FinalizeBlock verifies a block's signatures in one crypto-core batch before executing it;
signatures verified at CheckTx are not verified again; results, errors and gas are the same
as verifying one by one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sultan_bank.pb.cosmos.bank.v1beta1 import tx_pb2 as bank_tx

from sultan.kernel.coins import Coins
from sultan.kernel.crypto import native, sigcache
from sultan.testing import ChainHarness
from sultan.testing.wallet import Wallet

CHAIN_ID = "test-1"


def genesis(wallets: list[Wallet]) -> dict[str, Any]:
    return {
        "auth": {
            "accounts": [
                {
                    "@type": "/cosmos.auth.v1beta1.BaseAccount",
                    "address": w.address,
                    "pub_key": None,
                    "account_number": "0",
                    "sequence": "0",
                }
                for w in wallets
            ]
        },
        "bank": {
            "balances": sorted(
                (
                    {"address": w.address, "coins": Coins.parse("1000000usultan").to_dicts()}
                    for w in wallets
                ),
                key=lambda b: b["address"],
            )
        },
    }


@pytest.fixture
def wallets() -> list[Wallet]:
    return [Wallet.from_seed(f"batch-{i}") for i in range(12)]


@pytest.fixture
def harness(wallets: list[Wallet]) -> Iterator[ChainHarness]:
    sigcache.CACHE.clear()
    with ChainHarness(["auth", "bank"], app_state=genesis(wallets), chain_id=CHAIN_ID) as h:
        h.block()  # genesis state becomes visible
        yield h
    sigcache.CACHE.clear()


@pytest.fixture
def core_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the secp256k1 batches that reach the crypto core."""
    sizes: list[int] = []
    real = native.secp256k1_verify_many

    def spy(items, **kw):  # type: ignore[no-untyped-def]
        sizes.append(len(items))
        return real(items, **kw)

    monkeypatch.setattr(native, "secp256k1_verify_many", spy)
    return sizes


def send(h: ChainHarness, wallet: Wallet, to: Wallet, sequence: int = 0, **kw: Any) -> bytes:
    from sultan_auth.pb.cosmos.auth.v1beta1 import auth_pb2
    from sultan_auth.pb.cosmos.auth.v1beta1 import query_pb2 as auth_q

    res = h.query(
        "/cosmos.auth.v1beta1.Query/Account", auth_q.QueryAccountRequest(address=wallet.address)
    )
    number = auth_pb2.BaseAccount.FromString(res.account.value).account_number
    msg = bank_tx.MsgSend(
        from_address=wallet.address,
        to_address=to.address,
        amount=Coins.parse("5usultan").to_proto(),
    )
    return wallet.sign_tx(
        [msg],
        sequence=sequence,
        account_number=kw.pop("account_number", number),
        chain_id=CHAIN_ID,
        fee="200usultan",
        gas=200_000,
        **kw,
    )


def test_a_blocks_signatures_are_verified_in_one_batch(
    harness: ChainHarness, wallets: list[Wallet], core_calls: list[int]
) -> None:
    txs = [send(harness, w, wallets[0]) for w in wallets[1:]]
    results = harness.deliver(*txs)
    assert [r.code for r in results] == [0] * len(txs)
    assert core_calls == [len(txs)]  # one batch; the ante found every signature cached


def test_checktx_verified_signatures_are_not_verified_again(
    harness: ChainHarness, wallets: list[Wallet], core_calls: list[int]
) -> None:
    txs = [send(harness, w, wallets[0]) for w in wallets[1:6]]
    for tx in txs[:3]:
        assert harness.check_tx(tx).code == 0
    assert core_calls == [1, 1, 1]
    results = harness.deliver(*txs)
    assert [r.code for r in results] == [0] * 5
    assert core_calls == [1, 1, 1, 2]  # only the two txs CheckTx never saw


def test_bad_signatures_fail_exactly_as_without_the_batch(
    harness: ChainHarness, wallets: list[Wallet], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = send(harness, wallets[1], wallets[0])
    wrong_number = send(harness, wallets[2], wallets[0], account_number=999)
    wrong_chain = wallets[3].sign_tx(
        [
            bank_tx.MsgSend(
                from_address=wallets[3].address,
                to_address=wallets[0].address,
                amount=Coins.parse("5usultan").to_proto(),
            )
        ],
        sequence=0,
        account_number=0,
        chain_id="other-chain",
        fee="200usultan",
        gas=200_000,
    )
    txs = (good, wrong_number, wrong_chain)
    batched = [(r.code, r.codespace, r.log, r.gas_used) for r in harness.deliver(*txs)]
    assert [code for code, *_ in batched] == [0, 4, 4]
    assert "signature verification failed" in batched[1][2]

    # The same block on a fresh chain, with the block batch switched off, gives identical
    # results (errors, logs and gas): the batch only fills the cache.
    sigcache.CACHE.clear()
    with ChainHarness(
        ["auth", "bank"], app_state=genesis(list(wallets)), chain_id=CHAIN_ID
    ) as plain:
        plain.block()
        for module in plain.module_set.modules:
            monkeypatch.setattr(module, "signature_batch", None)
        unbatched = [(r.code, r.codespace, r.log, r.gas_used) for r in plain.deliver(*txs)]
        assert unbatched == batched
        assert plain.app_hash == harness.app_hash


def test_txs_the_provider_cannot_predict_are_left_to_the_ante(
    harness: ChainHarness, wallets: list[Wallet], core_calls: list[int]
) -> None:
    stranger = Wallet.from_seed("not-in-genesis")
    unknown = stranger.sign_tx(
        [
            bank_tx.MsgSend(
                from_address=stranger.address,
                to_address=wallets[0].address,
                amount=Coins.parse("5usultan").to_proto(),
            )
        ],
        sequence=0,
        account_number=0,
        chain_id=CHAIN_ID,
        fee="200usultan",
        gas=200_000,
    )
    good = send(harness, wallets[1], wallets[0])
    results = harness.deliver(unknown, good)
    assert results[0].code != 0 and results[1].code == 0
    assert core_calls == [1]


def test_a_second_tx_of_the_same_signer_in_a_block(
    harness: ChainHarness, wallets: list[Wallet], core_calls: list[int]
) -> None:
    first = send(harness, wallets[1], wallets[0], sequence=0)
    second = send(harness, wallets[1], wallets[0], sequence=1)
    results = harness.deliver(first, second)
    assert [r.code for r in results] == [0, 0]
    assert core_calls == [2]

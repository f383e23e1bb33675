"""MsgSend / MsgMultiSend through real signed txs: amounts, fees, events and every failure."""

from __future__ import annotations

import base64

import pytest
from bank_support import CHAIN_ID, DENOM, FEE_COLLECTOR, Chain, coins
from sultan_bank.pb.cosmos.bank.v1beta1 import bank_pb2
from sultan_bank.pb.cosmos.bank.v1beta1 import tx_pb2 as bank_tx

from sultan.kernel.address import account_string, module_address
from sultan.kernel.crypto.secp256k1 import ORDER
from sultan.pb.cosmos.base.v1beta1 import coin_pb2
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2
from sultan.testing.wallet import SignerSpec, Wallet, build_tx, pack, sign_parts, tx_parts


def events(result, type_):
    return [{a.key: a.value for a in e.attributes} for e in result.events if e.type == type_]


def snapshot(chain: Chain, *wallets: Wallet):
    return [(chain.balances(w.address), chain.seq(w)) for w in wallets] + [
        chain.balance(FEE_COLLECTOR),
        chain.supply(),
    ]


def test_send_moves_exact_amounts_and_charges_the_fee_to_fee_collector(chain, alice, bob):
    result = chain.deliver_one(chain.send_tx(alice, bob.address, "12345usultan,7stake"))
    assert result.code == 0, result.log
    assert chain.balances(alice.address) == "493stake,987455usultan"
    assert chain.balances(bob.address) == "7stake,13345usultan"
    assert chain.balance(FEE_COLLECTOR) == 200
    assert chain.seq(alice) == (0, 1)
    assert chain.supply() == "500stake,1001000usultan"


def test_send_emits_the_sdk_events(chain, alice, bob):
    result = chain.deliver_one(chain.send_tx(alice, bob.address, "10usultan"))
    assert events(result, "tx")[0] == {"fee": "200usultan", "fee_payer": alice.address}
    msg_events = [e for e in result.events if any(a.key == "msg_index" for a in e.attributes)]
    assert [e.type for e in msg_events] == [
        "message",
        "coin_spent",
        "coin_received",
        "transfer",
        "message",
    ]
    assert events(result, "transfer")[-1] == {
        "recipient": bob.address,
        "sender": alice.address,
        "amount": "10usultan",
        "msg_index": "0",
    }
    assert all(a.index for e in result.events for a in e.attributes)


def test_recipient_account_is_created_on_receive(chain, alice):
    carol = Wallet.from_seed("carol")
    assert chain.deliver_one(chain.send_tx(alice, carol.address, "5usultan")).code == 0
    number, sequence = chain.seq(carol)
    assert sequence == 0 and number > 1
    # carol can now pay fees and send back.
    back = chain.send_tx(carol, alice.address, "1usultan", fee="1usultan")
    result = chain.deliver_one(back)
    assert result.code == 0, result.log
    assert chain.balances(carol.address) == "3usultan"


def test_multi_send_splits_one_input_across_outputs(chain, alice, bob):
    carol = Wallet.from_seed("carol")
    msg = bank_tx.MsgMultiSend(
        inputs=[bank_pb2.Input(address=alice.address, coins=coins("30usultan"))],
        outputs=[
            bank_pb2.Output(address=bob.address, coins=coins("10usultan")),
            bank_pb2.Output(address=carol.address, coins=coins("20usultan")),
        ],
    )
    result = chain.deliver_one(chain.sign(alice, [msg]))
    assert result.code == 0, result.log
    assert chain.balance(bob.address) == 1010
    assert chain.balance(carol.address) == 20
    assert [e["recipient"] for e in events(result, "transfer")][-2:] == [bob.address, carol.address]


def test_multi_send_with_mismatched_totals_fails(chain, alice, bob):
    msg = bank_tx.MsgMultiSend(
        inputs=[bank_pb2.Input(address=alice.address, coins=coins("30usultan"))],
        outputs=[bank_pb2.Output(address=bob.address, coins=coins("10usultan"))],
    )
    result = chain.deliver_one(chain.sign(alice, [msg]))
    assert (result.codespace, result.code) == ("bank", 4)
    assert chain.balance(bob.address) == 1000


# -- failures before the messages run: nothing changes, not even fee or sequence ------------


def _garbage(chain, alice, bob):
    return b"\x00\x01garbage\xff"


def _truncated(chain, alice, bob):
    return chain.send_tx(alice, bob.address, "1usultan")[:-10]


def _unknown_type_url(chain, alice, bob):
    msg = pack(bank_tx.MsgSend(from_address=alice.address, to_address=bob.address))
    msg.type_url = "/cosmos.bank.v1beta1.MsgSendX"
    return chain.sign(alice, [msg])


def _wrong_chain_id(chain, alice, bob):
    return chain.send_tx(alice, bob.address, "1usultan", chain_id="other-1")


def _wrong_account_number(chain, alice, bob):
    return chain.send_tx(alice, bob.address, "1usultan", account_number=7)


def _wrong_sequence(chain, alice, bob):
    return chain.send_tx(alice, bob.address, "1usultan", sequence=3)


def _bad_signature(chain, alice, bob):
    raw = tx_pb2.TxRaw.FromString(chain.send_tx(alice, bob.address, "1usultan"))
    raw.signatures[0] = bob.sign(b"something else")
    return raw.SerializeToString()


def _high_s_signature(chain, alice, bob):
    raw = tx_pb2.TxRaw.FromString(chain.send_tx(alice, bob.address, "1usultan"))
    sig = raw.signatures[0]
    s = int.from_bytes(sig[32:], "big")
    raw.signatures[0] = sig[:32] + (ORDER - s).to_bytes(32, "big")
    return raw.SerializeToString()


def _short_signature(chain, alice, bob):
    raw = tx_pb2.TxRaw.FromString(chain.send_tx(alice, bob.address, "1usultan"))
    raw.signatures[0] = raw.signatures[0][:63]
    return raw.SerializeToString()


def _pubkey_of_someone_else(chain, alice, bob):
    number, seq = chain.seq(alice)
    msg = bank_tx.MsgSend(
        from_address=alice.address, to_address=bob.address, amount=coins("1usultan")
    )
    body, auth_info = tx_parts([msg], [SignerSpec(bob, number, seq)], fee="200usultan")
    return sign_parts(
        body.SerializeToString(),
        auth_info.SerializeToString(),
        [SignerSpec(bob, number, seq)],
        CHAIN_ID,
    )


def _two_signatures_one_signer(chain, alice, bob):
    raw = tx_pb2.TxRaw.FromString(chain.send_tx(alice, bob.address, "1usultan"))
    raw.signatures.append(raw.signatures[0])
    return raw.SerializeToString()


def _no_signature(chain, alice, bob):
    raw = tx_pb2.TxRaw.FromString(chain.send_tx(alice, bob.address, "1usultan"))
    del raw.signatures[:]
    return raw.SerializeToString()


def _invalid_sender_bech32(chain, alice, bob):
    msg = bank_tx.MsgSend(
        from_address=alice.address[:-1] + "x", to_address=bob.address, amount=coins("1usultan")
    )
    return chain.sign(alice, [msg])


def _oversize_memo(chain, alice, bob):
    return chain.send_tx(alice, bob.address, "1usultan", memo="m" * 257)


def _overflowing_amount(chain, alice, bob):
    amount = [coin_pb2.Coin(denom=DENOM, amount=str(1 << 256))]
    return chain.send_tx(alice, bob.address, amount)


def _malformed_amount(chain, alice, bob):
    return chain.send_tx(alice, bob.address, [coin_pb2.Coin(denom=DENOM, amount="12abc")])


def _fee_larger_than_balance(chain, alice, bob):
    return chain.send_tx(bob, alice.address, "1usultan", fee="5000usultan")


def _unknown_body_field(chain, alice, bob):
    number, seq = chain.seq(alice)
    msg = bank_tx.MsgSend(
        from_address=alice.address, to_address=bob.address, amount=coins("1usultan")
    )
    body, auth_info = tx_parts([msg], [SignerSpec(alice, number, seq)], fee="200usultan")
    body_bytes = body.SerializeToString() + b"\x28\x01"  # field 5 (critical), varint
    return sign_parts(
        body_bytes, auth_info.SerializeToString(), [SignerSpec(alice, number, seq)], CHAIN_ID
    )


REJECTED = [
    (_garbage, "sdk", 2, "tx parse error"),
    (_truncated, "sdk", 2, "tx parse error"),
    (_unknown_type_url, "sdk", 2, "unable to resolve type URL /cosmos.bank.v1beta1.MsgSendX"),
    (_wrong_chain_id, "sdk", 4, "signature verification failed; please verify account number (0) and chain-id (test-1)"),
    (_wrong_account_number, "sdk", 4, "signature verification failed"),
    (_wrong_sequence, "sdk", 32, "account sequence mismatch, expected 0, got 3"),
    (_bad_signature, "sdk", 4, "unable to verify single signer signature"),
    (_high_s_signature, "sdk", 4, "signature verification failed"),
    (_short_signature, "sdk", 4, "signature verification failed"),
    (_pubkey_of_someone_else, "sdk", 8, "pubKey does not match signer address"),
    (_two_signatures_one_signer, "sdk", 4, "wrong number of signers; expected 1, got 2"),
    (_no_signature, "sdk", 15, "no signatures supplied"),
    (_invalid_sender_bech32, "sdk", 7, "decoding bech32 failed"),
    (_oversize_memo, "sdk", 12, "maximum number of characters is 256 but received 257 characters"),
    (_overflowing_amount, "sdk", 2, "integer out of range; got: 257, max: 256"),
    (_malformed_amount, "sdk", 2, 'cannot unmarshal "12abc"'),
    (_fee_larger_than_balance, "sdk", 5, "spendable balance 1000usultan is smaller than 5000usultan"),
    (_unknown_body_field, "sdk", 2, "errUnknownField"),
]  # fmt: skip


@pytest.mark.parametrize(
    "make, codespace, code, fragment", REJECTED, ids=[r[0].__name__[1:] for r in REJECTED]
)
def test_rejected_tx_changes_nothing(chain, alice, bob, make, codespace, code, fragment):
    before = snapshot(chain, alice, bob)
    check = chain.h.check_tx(make(chain, alice, bob))
    assert (check.codespace, check.code) == (codespace, code), check.log
    assert fragment in check.log
    if code != 2:
        # Undecodable txs never reach a block (ProcessProposal refuses them).
        result = chain.deliver_one(make(chain, alice, bob))
        assert (result.codespace, result.code) == (codespace, code), result.log
        assert fragment in result.log
    else:
        chain.h.block()
    assert snapshot(chain, alice, bob) == before


def test_replayed_tx_is_rejected_with_wrong_sequence(chain, alice, bob):
    tx = chain.send_tx(alice, bob.address, "1usultan")
    assert chain.deliver_one(tx).code == 0
    before = snapshot(chain, alice, bob)
    result = chain.deliver_one(tx)
    assert result.code == 32
    assert "account sequence mismatch, expected 1, got 0" in result.log
    assert snapshot(chain, alice, bob) == before


# -- failures inside the message: the fee and the sequence bump stay -------------------------


def _amount(*pairs):
    return [coin_pb2.Coin(denom=d, amount=a) for d, a in pairs]


MSG_FAILURES = [
    ("insufficient_funds", lambda a, b: _amount(("usultan", "2000000")), "sdk", 5,
     "spendable balance 999800usultan is smaller than 2000000usultan"),
    ("negative_amount", lambda a, b: _amount(("usultan", "-5")), "sdk", 10, "negative coin amount: -5"),
    ("zero_amount", lambda a, b: _amount(("usultan", "0")), "sdk", 10, "amount is not positive"),
    ("empty_amount", lambda a, b: [], "sdk", 10, "invalid coins"),
    ("duplicate_denoms", lambda a, b: _amount(("usultan", "1"), ("usultan", "2")), "sdk", 10,
     "duplicate denomination usultan"),
    ("unsorted_denoms", lambda a, b: _amount(("usultan", "1"), ("stake", "2")), "sdk", 10,
     "denomination stake is not sorted"),
    ("invalid_denom", lambda a, b: _amount(("u$", "1")), "sdk", 10, "invalid denom: u$"),
]  # fmt: skip


@pytest.mark.parametrize(
    "name, amount, codespace, code, fragment", MSG_FAILURES, ids=[m[0] for m in MSG_FAILURES]
)
def test_failing_send_keeps_fee_and_sequence_bump(
    chain, alice, bob, name, amount, codespace, code, fragment
):
    result = chain.deliver_one(chain.send_tx(alice, bob.address, amount(alice, bob)))
    assert (result.codespace, result.code) == (codespace, code), result.log
    assert fragment in result.log
    assert chain.balances(alice.address) == "500stake,999800usultan"
    assert chain.balance(bob.address) == 1000
    assert chain.balance(FEE_COLLECTOR) == 200
    assert chain.seq(alice) == (0, 1)
    # The ante events (fee, sequence) are kept; message events are not.
    assert {e.type for e in result.events} >= {"tx", "coin_spent"}
    assert not any(a.key == "msg_index" for e in result.events for a in e.attributes)


def test_send_to_invalid_bech32_recipient_fails_in_the_message(chain, alice):
    result = chain.deliver_one(chain.send_tx(alice, "sultan1notanaddress", "1usultan"))
    assert result.code == 7
    assert "invalid to address: decoding bech32 failed" in result.log
    assert chain.seq(alice) == (0, 1)


def test_send_to_a_blocked_module_account_is_unauthorized(chain, alice):
    result = chain.deliver_one(chain.send_tx(alice, FEE_COLLECTOR, "1usultan"))
    assert result.code == 4
    assert f"{FEE_COLLECTOR} is not allowed to receive funds" in result.log
    assert chain.balance(FEE_COLLECTOR) == 200  # the fee only


def test_send_of_a_disabled_denom_fails(alice, bob):
    from bank_support import genesis

    state = genesis({alice: "100usultan,100stake"})
    state["bank"]["send_enabled"] = [{"denom": "stake", "enabled": False}]
    from sultan.testing import ChainHarness

    with Chain(ChainHarness(["auth", "bank"], app_state=state, chain_id=CHAIN_ID)) as chain:
        result = chain.deliver_one(chain.send_tx(alice, bob.address, "1stake", fee="1usultan"))
        assert (result.codespace, result.code) == ("bank", 5)
        assert "stake transfers are currently disabled" in result.log
        assert (
            chain.deliver_one(chain.send_tx(alice, bob.address, "1usultan", fee="1usultan")).code
            == 0
        )


def test_second_message_failure_reverts_the_first(chain, alice, bob):
    ok = bank_tx.MsgSend(
        from_address=alice.address, to_address=bob.address, amount=coins("5usultan")
    )
    bad = bank_tx.MsgSend(
        from_address=alice.address, to_address=bob.address, amount=coins("9999999usultan")
    )
    result = chain.deliver_one(chain.sign(alice, [ok, bad]))
    assert result.code == 5
    assert chain.balance(bob.address) == 1000
    assert chain.seq(alice) == (0, 1)


# -- fees in CheckTx -----------------------------------------------------------------------


def test_checktx_requires_the_minimum_gas_price(chain, alice, bob):
    chain.h.app.min_gas_prices = (("usultan", 10**16),)  # 0.01usultan
    low = chain.send_tx(alice, bob.address, "1usultan", fee="1999usultan", gas=200_000)
    check = chain.h.check_tx(low)
    assert check.code == 13
    assert "insufficient fees; got: 1999usultan required: 2000usultan" in check.log
    enough = chain.send_tx(alice, bob.address, "1usultan", fee="2000usultan", gas=200_000)
    assert chain.h.check_tx(enough).code == 0
    # Blocks do not apply the node-local minimum (only CheckTx does).
    assert chain.deliver_one(low).code == 0


def test_checktx_rejects_zero_gas(chain, alice, bob):
    check = chain.h.check_tx(chain.send_tx(alice, bob.address, "1usultan", gas=0))
    assert check.code == 11 or check.code == 41
    assert chain.seq(alice) == (0, 0)


def test_signature_events_carry_the_signature(chain, alice, bob):
    tx = chain.send_tx(alice, bob.address, "1usultan")
    result = chain.deliver_one(tx)
    sig = tx_pb2.TxRaw.FromString(tx).signatures[0]
    assert {"signature": base64.b64encode(sig).decode()} in events(result, "tx")
    assert {"acc_seq": f"{alice.address}/0"} in events(result, "tx")


def test_fee_payer_other_than_the_signer_must_sign_too(chain, alice, bob):
    a_num, a_seq = chain.seq(alice)
    b_num, b_seq = chain.seq(bob)
    msg = bank_tx.MsgSend(
        from_address=alice.address, to_address=bob.address, amount=coins("1usultan")
    )
    tx = build_tx(
        [msg],
        [SignerSpec(alice, a_num, a_seq), SignerSpec(bob, b_num, b_seq)],
        chain_id=CHAIN_ID,
        fee="100usultan",
        fee_payer=bob.address,
    )
    result = chain.deliver_one(tx)
    assert result.code == 0, result.log
    assert chain.balance(bob.address) == 1000 - 100 + 1
    assert chain.seq(alice)[1] == 1 and chain.seq(bob)[1] == 1


def test_module_accounts_are_blocked_from_multi_send(chain, alice):
    target = account_string(module_address("fee_collector"))
    msg = bank_tx.MsgMultiSend(
        inputs=[bank_pb2.Input(address=alice.address, coins=coins("1usultan"))],
        outputs=[bank_pb2.Output(address=target, coins=coins("1usultan"))],
    )
    assert chain.deliver_one(chain.sign(alice, [msg])).code == 4

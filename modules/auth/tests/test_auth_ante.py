"""The auth ante chain with real signed txs: pubkeys, sequences, sign modes, limits, gas."""

from __future__ import annotations

import pytest
from auth_support import CHAIN_ID, base_account, send, signed_send, start

from sultan.kernel.crypto import secp256k1
from sultan.pb.cosmos.crypto.ed25519 import keys_pb2 as ed25519_pb
from sultan.pb.cosmos.tx.signing.v1beta1 import signing_pb2
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2
from sultan.testing.wallet import SignerSpec, Wallet, build_tx, sign_parts, tx_parts


def _parts(chain, wallet, to, **kw):
    acc = base_account(chain, wallet.address)
    spec = SignerSpec(wallet, acc.account_number, acc.sequence)
    body, auth_info = tx_parts([send(wallet, to)], [spec], fee="10usultan", **kw)
    return spec, body, auth_info


def test_first_signed_tx_stores_the_pubkey_and_bumps_the_sequence(chain, alice, bob):
    assert not base_account(chain, alice.address).HasField("pub_key")
    (result,) = chain.deliver(signed_send(chain, alice, bob))
    assert result.code == 0, result.log
    acc = base_account(chain, alice.address)
    assert acc.pub_key.type_url == "/cosmos.crypto.secp256k1.PubKey"
    assert acc.sequence == 1
    # Later txs may omit the key: the stored one is used.
    spec, body, auth_info = _parts(chain, alice, bob)
    auth_info.signer_infos[0].ClearField("public_key")
    tx = sign_parts(body.SerializeToString(), auth_info.SerializeToString(), [spec], CHAIN_ID)
    (result,) = chain.deliver(tx)
    assert result.code == 0, result.log
    assert base_account(chain, alice.address).sequence == 2


def test_first_tx_without_a_pubkey_is_refused(chain, alice, bob):
    spec, body, auth_info = _parts(chain, alice, bob)
    auth_info.signer_infos[0].ClearField("public_key")
    tx = sign_parts(body.SerializeToString(), auth_info.SerializeToString(), [spec], CHAIN_ID)
    (result,) = chain.deliver(tx)
    assert result.code == 8 and "pubkey on account is not set" in result.log
    assert base_account(chain, alice.address).sequence == 0


def test_signer_without_an_account_is_unknown(chain, alice):
    stranger = Wallet.from_seed("stranger")
    tx = stranger.sign_tx(
        [send(stranger, alice)], sequence=0, account_number=0, chain_id=CHAIN_ID, fee="1usultan"
    )
    (result,) = chain.deliver(tx)
    assert result.code == 9
    assert f"fee payer address: {stranger.address} does not exist" in result.log


def test_simulation_skips_signatures_but_charges_their_gas(chain, alice, bob):
    spec, body, auth_info = _parts(chain, alice, bob)
    auth_info.signer_infos[0].mode_info.single.mode = signing_pb2.SIGN_MODE_UNSPECIFIED
    auth_info.fee.Clear()
    raw = tx_pb2.TxRaw(
        body_bytes=body.SerializeToString(),
        auth_info_bytes=auth_info.SerializeToString(),
        signatures=[b""],
    ).SerializeToString()
    result = chain.app.simulate(raw)
    assert result.code == 0, result.log
    # tx size + simulated signature bytes, and the secp256k1 verification cost
    assert result.gas_used >= 10 * (len(raw) + 112) + 1000
    # The same tx cannot be delivered (empty signature).
    (delivered,) = chain.deliver(raw)
    assert delivered.code != 0
    assert base_account(chain, alice.address).sequence == 0


def test_signing_with_legacy_amino_mode_is_refused_with_the_sdk_message(chain, alice, bob):
    spec, body, auth_info = _parts(
        chain, alice, bob, sign_mode=signing_pb2.SIGN_MODE_LEGACY_AMINO_JSON
    )
    tx = sign_parts(body.SerializeToString(), auth_info.SerializeToString(), [spec], CHAIN_ID)
    (result,) = chain.deliver(tx)
    assert result.code == 4
    assert "please verify account number (0), sequence (0) and chain-id (auth-1)" in result.log


def test_textual_sign_mode_is_unsupported(chain, alice, bob):
    spec, body, auth_info = _parts(chain, alice, bob, sign_mode=signing_pb2.SIGN_MODE_TEXTUAL)
    tx = sign_parts(body.SerializeToString(), auth_info.SerializeToString(), [spec], CHAIN_ID)
    (result,) = chain.deliver(tx)
    assert result.code == 4 and "unsupported sign mode SIGN_MODE_TEXTUAL" in result.log


def test_extension_options_are_refused(chain, alice, bob):
    spec, body, auth_info = _parts(chain, alice, bob)
    body.extension_options.add().Pack(send(alice, bob), type_url_prefix="/")
    tx = sign_parts(body.SerializeToString(), auth_info.SerializeToString(), [spec], CHAIN_ID)
    (result,) = chain.deliver(tx)
    assert result.code == 31


def test_non_critical_unknown_body_fields_are_tolerated(chain, alice, bob):
    spec, body, auth_info = _parts(chain, alice, bob)
    body_bytes = body.SerializeToString() + b"\xb0\x40\x01"  # field 1030, varint 1
    tx = sign_parts(body_bytes, auth_info.SerializeToString(), [spec], CHAIN_ID)
    (result,) = chain.deliver(tx)
    assert result.code == 0, result.log


def test_unknown_auth_info_fields_are_refused_even_if_non_critical(chain, alice, bob):
    spec, body, auth_info = _parts(chain, alice, bob)
    auth_bytes = auth_info.SerializeToString() + b"\xb0\x40\x01"
    tx = sign_parts(body.SerializeToString(), auth_bytes, [spec], CHAIN_ID)
    response = chain.check_tx(tx)
    assert response.code == 2 and "errUnknownField" in response.log


def test_too_many_signatures_for_the_sig_limit(alice, bob):
    with start({alice: "1000usultan", bob: "1000usultan"}, tx_sig_limit="1") as chain:
        a, b = base_account(chain, alice.address), base_account(chain, bob.address)
        tx = build_tx(
            [send(alice, bob), send(bob, alice)],
            [SignerSpec(alice, a.account_number, 0), SignerSpec(bob, b.account_number, 0)],
            chain_id=CHAIN_ID,
            fee="2usultan",
        )
        (result,) = chain.deliver(tx)
        assert result.code == 14 and "signatures: 2, limit: 1" in result.log


def test_two_signers_both_sign_and_both_sequences_move(chain, alice, bob):
    a, b = base_account(chain, alice.address), base_account(chain, bob.address)
    tx = build_tx(
        [send(alice, bob), send(bob, alice)],
        [SignerSpec(alice, a.account_number, 0), SignerSpec(bob, b.account_number, 0)],
        chain_id=CHAIN_ID,
        fee="2usultan",
    )
    (result,) = chain.deliver(tx)
    assert result.code == 0, result.log
    assert base_account(chain, alice.address).sequence == 1
    assert base_account(chain, bob.address).sequence == 1


def test_ed25519_account_keys_are_unsupported(chain, alice, bob):
    spec, body, auth_info = _parts(chain, alice, bob)
    key = ed25519_pb.PubKey(key=b"\x01" * 32)
    auth_info.signer_infos[0].public_key.Pack(key, type_url_prefix="/")
    tx = sign_parts(body.SerializeToString(), auth_info.SerializeToString(), [spec], CHAIN_ID)
    (result,) = chain.deliver(tx)
    assert result.code == 8 and "pubKey does not match signer address" in result.log


def test_out_of_gas_in_the_ante_keeps_nothing(chain, alice, bob):
    (result,) = chain.deliver(signed_send(chain, alice, bob, gas=1000))
    assert result.code == 11 and "out of gas" in result.log
    assert base_account(chain, alice.address).sequence == 0


def test_low_s_rule_is_enforced_by_verify():
    key = b"\x05" * 32
    sig = secp256k1.sign(key, b"doc")
    r, s = sig[:32], int.from_bytes(sig[32:], "big")
    assert s <= secp256k1.HALF_ORDER
    assert secp256k1.verify(secp256k1.public_key(key), b"doc", sig)
    high = r + (secp256k1.ORDER - s).to_bytes(32, "big")
    assert not secp256k1.verify(secp256k1.public_key(key), b"doc", high)


@pytest.mark.parametrize("memo, ok", [("x" * 256, True), ("é" * 129, False)])
def test_memo_limit_counts_bytes(chain, alice, bob, memo, ok):
    (result,) = chain.deliver(signed_send(chain, alice, bob, memo=memo))
    assert (result.code == 0) is ok, result.log

"""The auth ante chain: the SDK v0.50 `NewAnteHandler` decorators after the kernel's checks.

Order (each runs on the tx's ante branch; the first failure rejects the tx and nothing it
did is kept):

1. RejectExtensionOptions — any `extension_options` → ErrUnknownExtensionOptions (31)
2. ValidateBasic (not on ReCheckTx) — fee present and non-negative, gas ≤ 2^63-1, signers
   valid, ≥ 1 signature (ErrNoSignatures 15), one signature and signer info per signer
3. ValidateMemo — memo bytes ≤ params.max_memo_characters (ErrMemoTooLarge 12)
4. ConsumeTxSizeGas — params.tx_size_cost_per_byte × len(tx bytes) (+ simulated signatures)
5. DeductFee — CheckTx only: fee ≥ ceil(gas × min gas price) for some denom (ErrInsufficientFee
   13); fee payer must exist (ErrUnknownAddress 9); fee → fee_collector through the bank
   (ErrInsufficientFunds 5); event tx{fee, fee_payer}
6. SetPubKey — signer_infos keys must match the signer addresses (ErrInvalidPubKey 8) and are
   stored on first use; events tx{acc_seq} and tx{signature}
7. ValidateSigCount — ≤ params.tx_sig_limit keys (ErrTooManySignatures 14)
8. SigGasConsume — secp256k1 1000, ed25519 590 (then refused: unsupported for accounts)
9. SigVerification — sequence must match (ErrWrongSequence 32); SIGN_MODE_DIRECT signature over
   SignDoc{body, auth_info, chain_id, account_number}, low-S (ErrUnauthorized 4); skipped when
   simulating and on ReCheckTx
10. IncrementSequence — every signer's sequence + 1
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

from sultan import Context, Event
from sultan.kernel.address import ACCOUNT_CODEC, pubkey_to_address
from sultan.kernel.coins import Coin, Coins
from sultan.kernel.crypto import secp256k1, sigcache
from sultan.kernel.errors import (
    ErrInsufficientFee,
    ErrInsufficientFunds,
    ErrInvalidAddress,
    ErrInvalidGasLimit,
    ErrInvalidPubKey,
    ErrInvalidRequest,
    ErrMemoTooLarge,
    ErrNoSignatures,
    ErrTooManySignatures,
    ErrUnauthorized,
    ErrUnknownAddress,
    ErrUnknownExtensionOptions,
    ErrWrongSequence,
    SdkError,
)
from sultan.kernel.tx.context import ExecMode
from sultan.kernel.tx.decode import PUBKEY_TYPES, DecodedTx
from sultan.pb.cosmos.tx.signing.v1beta1 import signing_pb2
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2
from sultan_auth.expected import BankKeeper
from sultan_auth.keeper import Account, AccountKeeper
from sultan_auth.keys import (
    ED25519_PUBKEY_TYPE_URL,
    FEE_COLLECTOR_NAME,
    MULTISIG_PUBKEY_TYPE_URL,
    SECP256K1_PUBKEY_TYPE_URL,
)

MAX_GAS_WANTED = (1 << 63) - 1
# Size of an amino-encoded StdSignature with a secp256k1 key and a 64-byte signature, plus 6:
# what the SDK charges per missing signature when simulating.
SIMULATED_SIGNATURE_BYTES = 112
_DEC_ONE = 10**18


def tx_signers(tx: DecodedTx) -> tuple[tuple[str, bytes], ...]:
    """(bech32, bytes) of every required signer: message signers, then a distinct fee payer."""
    payer = tx.auth_info.fee.payer
    if len(payer) + sum(len(name) for name in tx.signers) > _CACHED_SIGNER_CHARS:
        return _signers.__wrapped__(tx.signers, payer)  # type: ignore[no-any-return]
    return _signers(tx.signers, payer)


# Every decorator asks for the signers; they depend only on these two (hashable) values.
# Only usual txs are cached (a few signers), so the cache stays small whatever txs arrive.
_CACHED_SIGNER_CHARS = 512


@lru_cache(maxsize=1 << 12)
def _signers(message_signers: tuple[str, ...], payer: str) -> tuple[tuple[str, bytes], ...]:
    names = list(message_signers)
    if payer and payer not in names:
        names.append(payer)
    signers = []
    for name in names:
        try:
            signers.append((name, ACCOUNT_CODEC.to_bytes(name)))
        except ErrInvalidAddress as exc:
            raise ErrInvalidAddress(f"invalid signer address {name!r}: {exc.message}") from None
    return tuple(signers)


def _fee_coins(fee: Any) -> tuple[list[Coin], Coins]:
    """(coins as sent, canonical coins). Zero amounts are allowed (a zero fee is no fee)."""
    sent = []
    for pb in fee.amount:
        try:
            sent.append(Coin.from_proto(pb))
        except SdkError:
            raise ErrInsufficientFee(
                f"invalid fee provided: {','.join(f'{c.amount}{c.denom}' for c in fee.amount)}"
            ) from None
    if all(c.amount == 0 for c in sent):
        return sent, Coins()
    try:
        return sent, Coins(sent)
    except SdkError:
        raise ErrInsufficientFee(f"invalid fee amount: {','.join(str(c) for c in sent)}") from None


def _pubkey_address(type_url: str, key: bytes) -> bytes:
    if type_url == SECP256K1_PUBKEY_TYPE_URL:
        if not secp256k1.is_valid_public_key(key):
            raise ErrInvalidPubKey(f"invalid secp256k1 public key of {len(key)} bytes")
        return pubkey_to_address(key)
    if type_url == ED25519_PUBKEY_TYPE_URL:
        import hashlib

        if len(key) != 32:
            raise ErrInvalidPubKey(f"invalid ed25519 public key of {len(key)} bytes")
        return hashlib.sha256(key).digest()[:20]
    if type_url == MULTISIG_PUBKEY_TYPE_URL:
        raise ErrInvalidPubKey("multisig public keys are not supported")
    raise ErrInvalidPubKey(f"unrecognized public key type: {type_url}")


def _signer_pubkey(info: Any) -> tuple[str, bytes] | None:
    if not info.HasField("public_key"):
        return None
    type_url = info.public_key.type_url
    cls = PUBKEY_TYPES.get(type_url)
    if cls is None:
        raise ErrInvalidPubKey(f"unrecognized public key type: {type_url}")
    return type_url, bytes(cls.FromString(info.public_key.value).key)


def _is_incomplete(info: Any, signature: bytes) -> bool:
    return not info.mode_info.HasField("single") or not signature


class AuthAnte:
    """The decorators, bound to the account keeper and (after `bind`) the bank keeper."""

    def __init__(self, accounts: AccountKeeper) -> None:
        self.accounts = accounts
        self.bank: BankKeeper | None = None

    @property
    def decorators(self) -> tuple[Any, ...]:
        return (
            self.reject_extension_options,
            self.validate_basic,
            self.validate_memo,
            self.consume_tx_size_gas,
            self.deduct_fee,
            self.set_pub_key,
            self.validate_sig_count,
            self.sig_gas_consume,
            self.sig_verification,
            self.increment_sequence,
        )

    def _signer_account(self, ctx: Context, name: str, address: bytes) -> Account:
        account = self.accounts.get_account(ctx, address)
        if account is None:
            raise ErrUnknownAddress(f"account {name} does not exist")
        return account

    # 1
    def reject_extension_options(self, ctx: Context, tx: DecodedTx, simulate: bool) -> None:
        if len(tx.body.extension_options):
            raise ErrUnknownExtensionOptions("unknown extension options")

    # 2
    def validate_basic(self, ctx: Context, tx: DecodedTx, simulate: bool) -> None:
        if ctx.mode == ExecMode.RECHECK:
            return
        if not tx.auth_info.HasField("fee"):
            raise ErrInvalidRequest("missing fee")
        fee = tx.auth_info.fee
        if fee.gas_limit > MAX_GAS_WANTED:
            raise ErrInvalidRequest(f"invalid gas supplied; {fee.gas_limit} > {MAX_GAS_WANTED}")
        _fee_coins(fee)
        if fee.payer:
            try:
                ACCOUNT_CODEC.to_bytes(fee.payer)
            except ErrInvalidAddress as exc:
                raise ErrInvalidAddress(f"Invalid fee payer address ({exc.message})") from None
        signers = tx_signers(tx)
        signatures = tx.tx_raw.signatures
        if not signatures:
            raise ErrNoSignatures()
        if len(signatures) != len(signers):
            raise ErrUnauthorized(
                f"wrong number of signers; expected {len(signers)}, got {len(signatures)}"
            )
        infos = tx.auth_info.signer_infos
        if len(infos) != len(signers):
            raise ErrUnauthorized(
                f"invalid number of signer;  expected: {len(signers)}, got {len(infos)}"
            )

    # 3
    def validate_memo(self, ctx: Context, tx: DecodedTx, simulate: bool) -> None:
        limit = self.accounts.params(ctx).max_memo_characters
        length = len(tx.body.memo.encode())
        if length > limit:
            raise ErrMemoTooLarge(
                f"maximum number of characters is {limit} but received {length} characters"
            )

    # 4
    def consume_tx_size_gas(self, ctx: Context, tx: DecodedTx, simulate: bool) -> None:
        params = self.accounts.params(ctx)
        ctx.gas_meter.consume(params.tx_size_cost_per_byte * len(tx.raw), "txSize")
        if not simulate:
            return
        infos = tx.auth_info.signer_infos
        signatures = tx.tx_raw.signatures
        for i, (_name, address) in enumerate(tx_signers(tx)):
            if (
                i < len(infos)
                and i < len(signatures)
                and not _is_incomplete(infos[i], signatures[i])
            ):
                continue
            cost = SIMULATED_SIGNATURE_BYTES
            account = self.accounts.get_account(ctx, address)
            if account is not None and account.pub_key_type == MULTISIG_PUBKEY_TYPE_URL:
                cost *= params.tx_sig_limit
            ctx.gas_meter.consume(cost * params.tx_size_cost_per_byte, "txSize")

    # 5
    def deduct_fee(self, ctx: Context, tx: DecodedTx, simulate: bool) -> None:
        fee = tx.auth_info.fee
        if not simulate and ctx.height > 0 and fee.gas_limit == 0:
            raise ErrInvalidGasLimit("must provide positive gas")
        sent, coins = _fee_coins(fee)
        if not simulate and ctx.is_check:
            _check_min_gas_prices(ctx, fee.gas_limit, sent, coins)
        if fee.granter:
            raise ErrInvalidRequest("fee grants are not enabled")
        signers = tx_signers(tx)
        if not signers:
            raise ErrNoSignatures()
        payer_name, payer = (
            signers[0] if not fee.payer else (fee.payer, ACCOUNT_CODEC.to_bytes(fee.payer))
        )
        if not self.accounts.has_account(ctx, payer):
            raise ErrUnknownAddress(f"fee payer address: {payer_name} does not exist")
        if not coins.is_zero():
            if self.bank is None:
                raise ErrInvalidRequest("fees need the bank module")
            try:
                self.bank.send_coins_from_account_to_module(ctx, payer, FEE_COLLECTOR_NAME, coins)
            except SdkError as exc:
                raise ErrInsufficientFunds(exc.log) from None
        ctx.emit(
            Event.of(
                "tx",
                ("fee", ",".join(str(c) for c in sent)),
                ("fee_payer", payer_name),
            )
        )

    # 6
    def set_pub_key(self, ctx: Context, tx: DecodedTx, simulate: bool) -> None:
        signers = tx_signers(tx)
        infos = tx.auth_info.signer_infos
        for i, info in enumerate(infos[: len(signers)]):
            name, address = signers[i]
            found = _signer_pubkey(info)
            if found is None:
                continue
            type_url, key = found
            if not simulate and _pubkey_address(type_url, key) != address:
                raise ErrInvalidPubKey(
                    f"pubKey does not match signer address {name} with signer index: {i}"
                )
            account = self._signer_account(ctx, name, address)
            if account.pub_key_type:
                continue
            self.accounts.set_pub_key(ctx, account, type_url, key)
        signatures = tx.tx_raw.signatures
        for i, info in enumerate(infos[: len(signers)]):
            ctx.emit(Event.of("tx", ("acc_seq", f"{signers[i][0]}/{info.sequence}")))
            if i < len(signatures) and info.mode_info.HasField("single"):
                encoded = base64.b64encode(signatures[i]).decode()
                ctx.emit(Event.of("tx", ("signature", encoded)))

    # 7
    def validate_sig_count(self, ctx: Context, tx: DecodedTx, simulate: bool) -> None:
        limit = self.accounts.params(ctx).tx_sig_limit
        count = 0
        for info in tx.auth_info.signer_infos:
            if info.HasField("public_key"):
                count += 1
                if count > limit:
                    raise ErrTooManySignatures(f"signatures: {count}, limit: {limit}")

    # 8
    def sig_gas_consume(self, ctx: Context, tx: DecodedTx, simulate: bool) -> None:
        params = self.accounts.params(ctx)
        for name, address in tx_signers(tx)[: len(tx.auth_info.signer_infos)]:
            account = self._signer_account(ctx, name, address)
            type_url = account.pub_key_type
            if not type_url and simulate:
                type_url = SECP256K1_PUBKEY_TYPE_URL
            if type_url == SECP256K1_PUBKEY_TYPE_URL:
                ctx.gas_meter.consume(params.sig_verify_cost_secp256k1, "ante verify: secp256k1")
            elif type_url == ED25519_PUBKEY_TYPE_URL:
                ctx.gas_meter.consume(params.sig_verify_cost_ed25519, "ante verify: ed25519")
                raise ErrInvalidPubKey("ED25519 public keys are unsupported")
            elif type_url:
                raise ErrInvalidPubKey(f"unrecognized public key type: {type_url}")

    # 9
    def sig_verification(self, ctx: Context, tx: DecodedTx, simulate: bool) -> None:
        signers = tx_signers(tx)
        infos = tx.auth_info.signer_infos
        if len(infos) != len(signers):
            raise ErrUnauthorized(
                f"invalid number of signer;  expected: {len(signers)}, got {len(infos)}"
            )
        signatures = tx.tx_raw.signatures
        for i, info in enumerate(infos):
            name, address = signers[i]
            account = self._signer_account(ctx, name, address)
            if not simulate and not account.pub_key_type:
                raise ErrInvalidPubKey("pubkey on account is not set")
            if info.sequence != account.sequence:
                raise ErrWrongSequence(
                    f"account sequence mismatch, expected {account.sequence}, got {info.sequence}"
                )
            if simulate or ctx.mode == ExecMode.RECHECK:
                continue
            number = account.account_number if ctx.height > 0 else 0
            signature = signatures[i] if i < len(signatures) else b""
            reason = _verify(tx, info, account, signature, ctx.chain_id, number)
            if reason is None:
                continue
            if reason == "amino":
                raise ErrUnauthorized(
                    f"signature verification failed; please verify account number ({number}), "
                    f"sequence ({account.sequence}) and chain-id ({ctx.chain_id})"
                )
            raise ErrUnauthorized(
                f"signature verification failed; please verify account number ({number}) and "
                f"chain-id ({ctx.chain_id}): ({reason})"
            )

    # 10
    def increment_sequence(self, ctx: Context, tx: DecodedTx, simulate: bool) -> None:
        for _name, address in tx_signers(tx):
            account = self.accounts.get_account(ctx, address)
            if account is not None:
                self.accounts.increment_sequence(ctx, account)


def _check_min_gas_prices(ctx: Context, gas_limit: int, sent: list[Coin], coins: Coins) -> None:
    prices = ctx.min_gas_prices
    if not any(price for _denom, price in prices):
        return
    required = [(denom, -((-price * gas_limit) // _DEC_ONE)) for denom, price in prices]
    if any(amount > 0 and coins.amount_of(denom) >= amount for denom, amount in required):
        return
    got = ",".join(str(c) for c in sent)
    wanted = ",".join(f"{amount}{denom}" for denom, amount in required)
    raise ErrInsufficientFee(f"insufficient fees; got: {got} required: {wanted}")


def _verify(
    tx: DecodedTx, info: Any, account: Account, signature: bytes, chain_id: str, number: int
) -> str | None:
    """None if the signature verifies; otherwise why not ("amino" for legacy amino mode)."""
    which = info.mode_info.WhichOneof("sum")
    if which is None:
        return "unexpected SignatureData <nil>"
    if which == "multi":
        return "multisig signatures are not supported"
    mode = info.mode_info.single.mode
    if mode == signing_pb2.SIGN_MODE_LEGACY_AMINO_JSON:
        return "amino"
    if mode != signing_pb2.SIGN_MODE_DIRECT:
        try:
            mode_name = signing_pb2.SignMode.Name(mode)
        except ValueError:
            mode_name = str(mode)
        return f"unsupported sign mode {mode_name}"
    if account.pub_key_type != SECP256K1_PUBKEY_TYPE_URL:
        return f"unsupported public key type {account.pub_key_type}"
    sign_doc = _direct_sign_doc(tx, chain_id, number)
    if not sigcache.verify_secp256k1(account.pub_key, sign_doc, signature):
        return "unable to verify single signer signature"
    return None


def _direct_sign_doc(tx: DecodedTx, chain_id: str, number: int) -> bytes:
    return tx_pb2.SignDoc(
        body_bytes=tx.tx_raw.body_bytes,
        auth_info_bytes=tx.tx_raw.auth_info_bytes,
        chain_id=chain_id,
        account_number=number,
    ).SerializeToString()


def signature_checks(
    accounts: AccountKeeper, ctx: Context, tx: DecodedTx
) -> list[sigcache.SignatureCheck]:
    """The checks `sig_verification` will make for `tx`, predicted from the current state.

    FinalizeBlock verifies the whole block's in one batch before executing it (the
    `signature_batch` of the module definition). Only SIGN_MODE_DIRECT secp256k1 signatures
    are listed; a prediction that an earlier tx of the block invalidates (a new account's
    number, say) only costs the ante a cache miss.
    """
    signers = tx_signers(tx)
    signatures = tx.tx_raw.signatures
    checks = []
    for i, info in enumerate(tx.auth_info.signer_infos[: min(len(signers), len(signatures))]):
        if not info.mode_info.HasField("single"):
            continue
        if info.mode_info.single.mode != signing_pb2.SIGN_MODE_DIRECT:
            continue
        account = accounts.get_account(ctx, signers[i][1])
        if account is None:
            continue
        type_url, key = account.pub_key_type, account.pub_key
        if not type_url:
            found = _signer_pubkey(info)
            if found is None:
                continue
            type_url, key = found
        if type_url != SECP256K1_PUBKEY_TYPE_URL:
            continue
        number = account.account_number if ctx.height > 0 else 0
        checks.append(
            sigcache.SignatureCheck(
                sigcache.SECP256K1, key, _direct_sign_doc(tx, ctx.chain_id, number), signatures[i]
            )
        )
    return checks

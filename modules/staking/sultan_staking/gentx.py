"""Genesis transactions: a MsgCreateValidator signed by the operator before the chain starts.

`build_gentx` makes one (what `sultan genesis gentx` writes to `config/gentx/`);
`add_gen_txs` puts collected ones into the staking genesis section and sets the CometBFT
genesis `validators` to the resulting bonded set, so that `genesis.json` is consistent for
both the embedded engine and an external CometBFT (which take InitChain's answer anyway).
"""

from __future__ import annotations

import base64
from typing import Any

from sultan.client.signing import Signer, SignerSpec, build_tx
from sultan.kernel.address import VALIDATOR_CODEC
from sultan.kernel.coins import DEC_ONE, Coin
from sultan_staking import convert
from sultan_staking.pb.cosmos.staking.v1beta1 import staking_pb2, tx_pb2

DEFAULT_RATE = DEC_ONE // 10  # 0.10
DEFAULT_MAX_RATE = DEC_ONE // 5  # 0.20
DEFAULT_MAX_CHANGE = DEC_ONE // 100  # 0.01


def create_validator_msg(
    operator: bytes,
    consensus_pubkey: bytes,
    amount: Coin,
    *,
    moniker: str,
    rate: int = DEFAULT_RATE,
    max_rate: int = DEFAULT_MAX_RATE,
    max_change_rate: int = DEFAULT_MAX_CHANGE,
    min_self_delegation: int = 1,
    identity: str = "",
    website: str = "",
    details: str = "",
) -> Any:
    return tx_pb2.MsgCreateValidator(
        description=staking_pb2.Description(
            moniker=moniker, identity=identity, website=website, details=details
        ),
        commission=staking_pb2.CommissionRates(
            rate=str(rate), max_rate=str(max_rate), max_change_rate=str(max_change_rate)
        ),
        min_self_delegation=str(min_self_delegation),
        validator_address=VALIDATOR_CODEC.to_string(operator),
        pubkey=convert.pubkey_any(consensus_pubkey),
        value=amount.to_proto(),
    )


def build_gentx(signer: Signer, msg: Any, chain_id: str) -> bytes:
    """TxRaw bytes: `msg` signed DIRECT with account number 0, sequence 0, no fee."""
    return build_tx([msg], [SignerSpec(signer, 0, 0)], chain_id=chain_id, fee=None, gas=200_000)


def encode(tx: bytes) -> str:
    return base64.b64encode(tx).decode()

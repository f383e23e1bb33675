"""x/bank for Sultan: balances, supply, denom metadata and MsgSend / MsgMultiSend."""

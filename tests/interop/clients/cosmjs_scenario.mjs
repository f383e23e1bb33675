// Run from the CosmJS install dir: node cosmjs_scenario.mjs '<json args>'; prints one JSON line.
import { DirectSecp256k1HdWallet } from "@cosmjs/proto-signing";
import { GasPrice, SigningStargateClient, StargateClient } from "@cosmjs/stargate";

const args = JSON.parse(process.argv[2]);

async function main() {
  const out = {};
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(args.mnemonic, { prefix: "sultan" });
  const [account] = await wallet.getAccounts();
  out.sender = account.address;
  const client = await StargateClient.connect(args.rpc);
  out.chain_id = await client.getChainId();
  out.height = await client.getHeight();
  out.sender_before = (await client.getBalance(account.address, args.denom)).amount;
  out.recipient_before = (await client.getBalance(args.to, args.denom)).amount;
  const signer = await SigningStargateClient.connectWithSigner(args.rpc, wallet, {
    gasPrice: GasPrice.fromString(args.gas_price + args.denom),
  });
  if (args.scenario === "send") {
    const result = await signer.sendTokens(
      account.address, args.to, [{ denom: args.denom, amount: String(args.amount) }], "auto", args.memo || "",
    );
    out.tx_code = result.code;
    out.tx_hash = result.transactionHash;
    out.tx_height = result.height;
    out.gas_used = Number(result.gasUsed);
    const tx = await client.getTx(result.transactionHash);
    out.get_tx_found = tx !== null && tx.hash === result.transactionHash;
    const found = await client.searchTx(`transfer.recipient='${args.to}'`);
    out.search_hashes = found.map((t) => t.hash);
    out.sender_after = (await client.getBalance(account.address, args.denom)).amount;
    out.recipient_after = (await client.getBalance(args.to, args.denom)).amount;
    const acct = await client.getAccount(account.address);
    out.sequence_after = acct.sequence;
    out.unknown_account = await client.getAccount(args.unknown);
  } else if (args.scenario === "negative") {
    out.sender_before = (await client.getBalance(account.address, args.denom)).amount;
    // CheckTx passes (the fee is payable); the send itself fails in the block, so CosmJS
    // returns a DeliverTxResponse with the Cosmos code instead of throwing.
    const result = await signer.sendTokens(account.address, args.to, [{ denom: args.denom, amount: String(args.too_much) }], {
      amount: [{ denom: args.denom, amount: "5000" }], gas: "200000",
    });
    out.code = result.code;
    out.raw_log = result.rawLog;
    out.sender_after = (await client.getBalance(account.address, args.denom)).amount;
  }
  console.log(JSON.stringify(out));
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });

// Run from the CosmJS install dir: node cosmjs_staking.mjs '<json args>'; prints one JSON line.
// delegateTokens, getDelegation, withdrawRewards, undelegateTokens with "auto" fees.
import { DirectSecp256k1HdWallet } from "@cosmjs/proto-signing";
import { GasPrice, SigningStargateClient, StargateClient } from "@cosmjs/stargate";

const args = JSON.parse(process.argv[2]);

function events(result, type) {
  return result.events.filter((e) => e.type === type).map((e) =>
    Object.fromEntries(e.attributes.map((a) => [a.key, a.value])));
}

async function main() {
  const out = {};
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(args.mnemonic, { prefix: "sultan" });
  const [account] = await wallet.getAccounts();
  out.sender = account.address;
  const client = await StargateClient.connect(args.rpc);
  const signer = await SigningStargateClient.connectWithSigner(args.rpc, wallet, {
    gasPrice: GasPrice.fromString(args.gas_price + args.denom),
  });
  const balance = async () => (await client.getBalance(account.address, args.denom)).amount;
  out.missing_delegation = await client.getDelegation(account.address, args.validator);
  out.balance_start = await balance();
  const delegated = await signer.delegateTokens(
    account.address, args.validator, { denom: args.denom, amount: String(args.delegate) }, "auto");
  out.delegate = { code: delegated.code, hash: delegated.transactionHash, height: delegated.height };
  out.balance_after_delegate = await balance();
  out.delegation = await client.getDelegation(account.address, args.validator);
  const start = await client.getHeight();
  while ((await client.getHeight()) < start + 2) await new Promise((r) => setTimeout(r, 200));
  const withdrawn = await signer.withdrawRewards(account.address, args.validator, "auto");
  out.withdraw = {
    code: withdrawn.code, hash: withdrawn.transactionHash,
    rewards: events(withdrawn, "withdraw_rewards").map((e) => e.amount),
  };
  out.balance_after_withdraw = await balance();
  const undelegated = await signer.undelegateTokens(
    account.address, args.validator, { denom: args.denom, amount: String(args.undelegate) }, "auto");
  out.undelegate = {
    code: undelegated.code, hash: undelegated.transactionHash,
    rewards: events(undelegated, "withdraw_rewards").map((e) => e.amount),
  };
  out.balance_after_undelegate = await balance();
  out.delegation_after = await client.getDelegation(account.address, args.validator);
  console.log(JSON.stringify(out));
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });

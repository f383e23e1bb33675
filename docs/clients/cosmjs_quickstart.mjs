// Send tokens on a Sultan chain with CosmJS. Run: node cosmjs_quickstart.mjs
// (npm install @cosmjs/stargate @cosmjs/proto-signing). Defaults match `make run`'s dev chain.
import { DirectSecp256k1HdWallet } from "@cosmjs/proto-signing";
import { GasPrice, SigningStargateClient } from "@cosmjs/stargate";

const rpc = process.env.SULTAN_RPC ?? "http://127.0.0.1:26657";
const to = process.env.SULTAN_TO ?? "sultan1gfpyysjzgfpyysjzgfpyysjzgfpyysjzj9ktzu";
const wallet = await DirectSecp256k1HdWallet.fromMnemonic(process.env.SULTAN_MNEMONIC, { prefix: "sultan" });
const [account] = await wallet.getAccounts();
const client = await SigningStargateClient.connectWithSigner(rpc, wallet, {
  gasPrice: GasPrice.fromString("0.025usultan"),
});

console.log("chain:", await client.getChainId(), "height:", await client.getHeight());
console.log("balance before:", (await client.getBalance(account.address, "usultan")).amount);
const result = await client.sendTokens(account.address, to, [{ denom: "usultan", amount: "1000" }], "auto");
console.log("sent in tx", result.transactionHash, "code", result.code);
console.log("recipient has:", (await client.getBalance(to, "usultan")).amount);

// js-ipfs's CLI (node_modules/ipfs/src/cli.js, given as the first argument), run with one fix: a bitswap want
// abandoned when its read times out or its caller goes away ("Want for <CID> aborted") is a promise nobody
// awaits any more in ipfs-bitswap 16 (notifications.js rejects it on abort), so it surfaces as an unhandled
// rejection, and js-ipfs exits on every unhandled rejection: an online node died whenever a peer was too slow
// to deliver a block within the reader's timeout. Here that one rejection is logged and the node goes on;
// every other unhandled rejection still ends it as js-ipfs intends (exit 1).
import { pathToFileURL } from "node:url";

const cli = process.argv[2];
if (!cli) {
  process.stderr.write("usage: node jsipfs_shim.mjs <path to ipfs/src/cli.js> [jsipfs arguments]\n");
  process.exit(2);
}
process.argv.splice(2, 1); // js-ipfs reads its own arguments from process.argv.slice(2)

const ABANDONED_WANT = /^Want for \S+ aborted$/;
const once = process.once.bind(process);
process.once = (event, listener) => {
  if (event !== "unhandledRejection") {
    return once(event, listener);
  }
  process.on(event, (reason, promise) => {
    if (reason instanceof Error && ABANDONED_WANT.test(reason.message)) {
      process.stderr.write(`pofl: ${reason.message} (a read given up; the node goes on)\n`);
      return;
    }
    listener(reason, promise);
  });
  return process;
};

await import(pathToFileURL(cli).href);

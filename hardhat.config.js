// Hardhat 2 is used here only as a second devnet (`pofl devnet --kind hardhat`);
// contracts are compiled by the project's own pipeline (offchain/chain/compile.py).
module.exports = {
  paths: { sources: "./contracts/hardhat-unused", cache: "./.tmp/hardhat-cache", artifacts: "./.tmp/hardhat-artifacts" },
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "cancun",
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        count: Number(process.env.HARDHAT_ACCOUNTS || 20),
        accountsBalance: "1000000000000000000000000",
      },
    },
  },
};

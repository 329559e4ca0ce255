#!/usr/bin/env node
// A `solc` command-line stand-in over npm's solcjs, enough for py-solc-x:
//   solc --version                 -> "Version: X.Y.Z+commit..." (py-solc-x parses this line)
//   solc --standard-json [...]     -> Standard JSON in on stdin, out on stdout
// solcjs prints ">>> Cannot retry ... SMT ..." notes on stdout; they go to stderr here so
// stdout holds only JSON. The process ends by itself (no process.exit()) so a pipe reader
// gets all of the output, also beyond 64 KiB.
"use strict";
const fs = require("fs");
const path = require("path");

const solcDir = process.env.POFL_SOLCJS_DIR;
if (!solcDir) {
  process.stderr.write("POFL_SOLCJS_DIR is not set: it must point at node_modules/solc\n");
  process.exitCode = 2;
  return;
}
const writeStdout = process.stdout.write.bind(process.stdout);
console.log = (...args) => process.stderr.write(args.join(" ") + "\n");
const solc = require(solcDir);

const args = process.argv.slice(2);
if (args.includes("--version")) {
  writeStdout("solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n");
  return;
}
if (!args.includes("--standard-json")) {
  process.stderr.write("this solc stand-in supports only --version and --standard-json\n");
  process.exitCode = 2;
  return;
}

function optionValues(name) {
  const at = args.indexOf(name);
  return at >= 0 && at + 1 < args.length ? args[at + 1].split(",") : [];
}
const roots = [process.cwd(), ...optionValues("--base-path"), ...optionValues("--allow-paths"), ...optionValues("--include-path")];

function findImports(importPath) {
  for (const root of roots) {
    const full = path.resolve(root, importPath);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, "utf8") };
  }
  return { error: "File not found: " + importPath };
}

const input = fs.readFileSync(0, "utf8");
writeStdout(solc.compile(input, { import: findImports }));

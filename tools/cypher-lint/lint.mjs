#!/usr/bin/env node
// Check Cypher files against Neo4j's own Cypher 5 parser and semantic analysis
// (@neo4j-cypher/language-support). Usage: node lint.mjs [--strict] [--version 5|25] FILE...
// Prints "file:line:col: error: message" per problem; exits 1 on any error (warnings too with
// --strict), 2 on bad usage or unreadable files. Parameters ($x) are not reported as undefined.
import { readFileSync } from 'node:fs';
import { lintCypherQuery, isNotParamError } from '@neo4j-cypher/language-support';

const ERROR = 1; // LSP DiagnosticSeverity.Error
const args = process.argv.slice(2);
let strict = false;
let version = 'CYPHER 5';
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--strict') strict = true;
  else if (args[i] === '--version') version = `CYPHER ${args[++i]}`;
  else files.push(args[i]);
}
if (files.length === 0) {
  console.error('usage: lint.mjs [--strict] [--version 5|25] FILE.cypher...');
  process.exit(2);
}

let failed = 0;
let unreadable = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(`${file}: cannot read: ${err.message}`);
    unreadable++;
    continue;
  }
  const { diagnostics } = lintCypherQuery(text, { defaultLanguage: version }, {
    consoleCommandsEnabled: false,
  });
  for (const d of diagnostics.filter(isNotParamError)) {
    const isError = d.severity === ERROR;
    const line = d.range.start.line + 1;
    const col = d.range.start.character + 1;
    console.log(`${file}:${line}:${col}: ${isError ? 'error' : 'warning'}: ${d.message}`);
    if (isError || strict) failed++;
  }
}
if (unreadable) process.exit(2);
process.exit(failed ? 1 : 0);

'use strict';
// The reverse direction: bytes .NET writes must decode, in hazelcast-client 5.7.0, to the value
// the client itself encoded.
//   node check-dotnet.js prepare VECTORS.json BATCH.jsonl SCHEMAS.json
//   node check-dotnet.js verify  VECTORS.json BATCH.jsonl DOTNET_HEX.txt
// prepare: one {"kind","value"} line per vector (value as the client reads the vector's bytes)
// for `jex data encode --batch`. verify: decodes each .NET hex line with the client and compares.
const fs = require('fs');
const h = require('./hz');
// Registers every vector schema with the client (as a cluster would have replicated them).
require('./gen-vectors-schemas');

const [mode, vectorsPath, batchPath, third] = process.argv.slice(2);
const file = JSON.parse(fs.readFileSync(vectorsPath, 'utf8'));
const vectors = file.vectors.filter((v) => !v.decodeOnly);
const expectedText = (v) => h.valueJson(v.kind, h.toObject(Buffer.from(v.hex, 'hex')));

if (mode === 'prepare') {
  fs.writeFileSync(third, JSON.stringify(file.schemas));
  fs.writeFileSync(batchPath, vectors.map((v) => `{"kind":${JSON.stringify(v.kind)},"value":${expectedText(v)}}`).join('\n') + '\n');
  console.error(`prepared ${vectors.length} values for .NET`);
} else if (mode === 'verify') {
  const lines = fs.readFileSync(third, 'utf8').split('\n').filter((l) => l.length > 0);
  let passed = 0, failed = 0, identical = 0;
  vectors.forEach((v, i) => {
    const hex = lines[i];
    let problem = null;
    if (hex === undefined) problem = 'no output line from .NET';
    else if (hex.startsWith('error:')) problem = `.NET could not encode it: ${hex}`;
    else {
      try {
        const got = h.valueJson(v.kind, h.toObject(Buffer.from(hex, 'hex')));
        const want = expectedText(v);
        if (got !== want) problem = `client decoded ${got.slice(0, 200)}, expected ${want.slice(0, 200)}`;
        if (hex === v.hex) identical++;
      } catch (e) {
        problem = `client could not decode .NET bytes ${hex.slice(0, 80)}: ${e.message}`;
      }
    }
    if (problem) { failed++; console.log(`FAIL ${v.name}: ${problem}`); } else passed++;
  });
  console.log(`reverse direction: ${passed} of ${vectors.length} decoded by the client to the same value; ${identical} byte-identical to the client's own bytes`);
  console.log(`RESULT ${passed} ${failed}`);
} else {
  console.error('usage: node check-dotnet.js prepare|verify VECTORS.json BATCH.jsonl SCHEMAS.json|DOTNET_HEX.txt');
  process.exit(2);
}

// wink_tag.js - wink-pos-tagger (npm) on gold tokens, for the benchmark.
//
//   NODE_PATH=CACHE/node_modules node bench/wink_tag.js < tokens > predictions
//
// Reads one token per line, a blank line after each sentence; writes
// token<TAB>tag lines in the same layout. Each sentence goes to
// tagRawTokens(), which takes the tokens as they are (one output token per
// input token: its own tokenizer is not run), so alignment is exact. wink's
// Penn tags are printed as they are, except that its bracket tags ( and ) are
// written -LRB- and -RRB- as in EWT, and any other tag that is punctuation
// itself (wink tags some punctuation with its own text) is left as wink gave it.
'use strict';
const fs = require('fs');
const tagger = require('wink-pos-tagger')();

const MAP = { '(': '-LRB-', ')': '-RRB-' };
const lines = fs.readFileSync(0, 'utf8').split('\n');
const out = [];
let sent = [];
function flush() {
  if (sent.length === 0) return;
  const tagged = tagger.tagRawTokens(sent);
  if (tagged.length !== sent.length) {
    process.stderr.write('wink_tag.js: ' + sent.length + ' tokens in, ' + tagged.length + ' out\n');
    process.exit(2);
  }
  for (let i = 0; i < sent.length; i++) {
    const pos = tagged[i].pos;
    out.push(sent[i] + '\t' + (MAP[pos] || pos));
  }
  out.push('');
  sent = [];
}
for (const line of lines) {
  if (line === '') flush(); else sent.push(line);
}
flush();
process.stdout.write(out.length ? out.join('\n') + '\n' : '');

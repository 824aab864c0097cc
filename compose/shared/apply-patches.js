#!/usr/bin/env node
// apply-patches.js SPEC.json ROOT_DIR
//
// Applies reviewed, literal text replacements to pinned upstream sources at
// image build time. Each entry of SPEC.json is
//   {"file": "relative/path", "find": "exact text", "replace": "new text",
//    "count": N, "why": "one line"}
// and fails the build unless `find` occurs exactly `count` times in the file,
// so a changed upstream file can never be patched silently or half-way.
// Written for Node 8 and later (no syntax newer than ES2017).
'use strict';

var fs = require('fs');
var path = require('path');

function countOccurrences(text, needle) {
  var count = 0;
  var index = text.indexOf(needle);
  while (index !== -1) {
    count += 1;
    index = text.indexOf(needle, index + needle.length);
  }
  return count;
}

function applySpec(spec, root) {
  if (!Array.isArray(spec) || spec.length === 0) {
    throw new Error('patch spec must be a non-empty JSON array');
  }
  var errors = [];
  var pending = {};
  spec.forEach(function (entry, i) {
    var label = 'patch #' + i + ' (' + entry.file + ')';
    if (typeof entry.file !== 'string' || typeof entry.find !== 'string' ||
        typeof entry.replace !== 'string' || typeof entry.count !== 'number' ||
        typeof entry.why !== 'string' || entry.find === '' || entry.count < 1) {
      errors.push(label + ': needs file, find, replace, why (strings) and count >= 1');
      return;
    }
    var file = path.join(root, entry.file);
    if (!(file in pending)) {
      if (!fs.existsSync(file)) {
        errors.push(label + ': file not found');
        return;
      }
      pending[file] = fs.readFileSync(file, 'utf8');
    }
    var found = countOccurrences(pending[file], entry.find);
    if (found !== entry.count) {
      errors.push(label + ': expected ' + entry.count + ' occurrence(s) of ' +
        JSON.stringify(entry.find) + ', found ' + found);
      return;
    }
    pending[file] = pending[file].split(entry.find).join(entry.replace);
  });
  if (errors.length > 0) {
    throw new Error('patches not applied:\n  ' + errors.join('\n  '));
  }
  Object.keys(pending).forEach(function (file) {
    fs.writeFileSync(file, pending[file]);
  });
  return Object.keys(pending).length;
}

if (require.main === module) {
  if (process.argv.length !== 4) {
    process.stderr.write('usage: apply-patches.js SPEC.json ROOT_DIR\n');
    process.exit(2);
  }
  try {
    var spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
    var files = applySpec(spec, process.argv[3]);
    process.stdout.write('apply-patches: ' + spec.length + ' patch(es) applied to ' + files + ' file(s) under ' +
      process.argv[3] + '\n');
  } catch (err) {
    process.stderr.write('apply-patches: ' + err.message + '\n');
    process.exit(1);
  }
}

module.exports = { applySpec: applySpec };

#!/usr/bin/env node
// p2pvps-healthcheck: exit 0 when KeystoneJS answers HTTP GET / on $PORT
// (any status below 500), 1 otherwise. Uses only Node (no curl in the image).
'use strict';

var http = require('http');

var port = Number(process.env.PORT || 3000);
var timeoutMs = Number(process.env.P2PVPS_HEALTHCHECK_TIMEOUT_MS || 5000);

function finish(code, message) {
  process.stdout.write('p2pvps-healthcheck: ' + message + '\n');
  process.exit(code);
}

var request = http.get({ host: '127.0.0.1', port: port, path: '/', headers: { 'User-Agent': 'p2pvps-healthcheck' } },
  function (response) {
    response.resume();
    if (response.statusCode < 500) {
      finish(0, 'GET / answered ' + response.statusCode);
    } else {
      finish(1, 'GET / answered ' + response.statusCode);
    }
  });
request.setTimeout(timeoutMs, function () {
  request.abort();
  finish(1, 'no answer from 127.0.0.1:' + port + ' within ' + timeoutMs + ' ms');
});
request.on('error', function (err) {
  finish(1, 'GET / on 127.0.0.1:' + port + ' failed: ' + err.message);
});

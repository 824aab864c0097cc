#!/usr/bin/env node
// p2pvps-healthcheck: exit 0 when something accepts TCP connections on
// 127.0.0.1:3434 (the Listing-Manager's Express server), 1 otherwise.
// (GET / would fail anyway: upstream renders a views directory it never shipped.)
'use strict';

const net = require('net');

const port = Number(process.env.P2PVPS_HEALTHCHECK_PORT || 3434);
const timeoutMs = Number(process.env.P2PVPS_HEALTHCHECK_TIMEOUT_MS || 5000);

const socket = net.connect({ host: '127.0.0.1', port });
socket.setTimeout(timeoutMs);
socket.on('connect', () => {
  process.stdout.write(`p2pvps-healthcheck: 127.0.0.1:${port} accepts connections\n`);
  socket.destroy();
  process.exit(0);
});
socket.on('timeout', () => {
  process.stdout.write(`p2pvps-healthcheck: no connection to 127.0.0.1:${port} within ${timeoutMs} ms\n`);
  socket.destroy();
  process.exit(1);
});
socket.on('error', (err) => {
  process.stdout.write(`p2pvps-healthcheck: 127.0.0.1:${port}: ${err.message}\n`);
  process.exit(1);
});

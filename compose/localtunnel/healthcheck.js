#!/usr/bin/node
'use strict';
// p2pvps-healthcheck: healthy when the LocalTunnel server answers GET /api/status with 200.
const http = require('http');

const WILDCARDS = { '0.0.0.0': '127.0.0.1', '::': '::1' };
const configured = process.env.LT_ADDRESS || '0.0.0.0';
const request = http.get(
  {
    host: WILDCARDS[configured] || configured,
    port: process.env.LT_PORT || '3002',
    path: '/api/status',
    timeout: 5000,
  },
  (response) => {
    response.resume();
    process.exit(response.statusCode === 200 ? 0 : 1);
  },
);
request.on('timeout', () => request.destroy(new Error('timed out')));
request.on('error', (error) => {
  process.stderr.write(`p2pvps-healthcheck: ${error.message}\n`);
  process.exit(1);
});

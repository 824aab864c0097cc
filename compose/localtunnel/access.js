'use strict';
// Who may open which tunnel: the device registry the SSH-Server's p2pvps-device writes
// (/devices/registry, read-only here). A device opens the subdomain of its own name with the
// credential `p2pvps-device add` printed, sent as HTTP basic auth (the stock client sends the
// user-info of `--host https://NAME:CREDENTIAL@lt.<domain>` that way). The registry is read again
// whenever the file changes, so adding, removing or re-keying a device needs no restart.
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');

const REGISTRY = '/devices/registry';
const REALM = 'P2P VPS LocalTunnel';
const DIGEST = /^[0-9a-f]{64}$/;
// Compared against when the device is unknown, so a refusal takes as long as a wrong credential.
const NO_DEVICE = '0'.repeat(64);

let cache = { version: null, credentials: new Map() };

// NAME -> SHA-256 (hex) of the device's credential, from the current registry. A registry that
// cannot be read (its mode changed by hand, say) leaves the last one read in force, and is logged.
function credentials() {
    try {
        const stat = fs.statSync(REGISTRY);
        const version = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
        if (version !== cache.version) {
            cache = { version, credentials: parse(fs.readFileSync(REGISTRY, 'utf8')) };
        }
    } catch (err) {
        if (err.code === 'ENOENT') {
            cache = { version: null, credentials: new Map() };
        } else if (cache.version !== err.code) {
            process.stderr.write(`p2pvps-localtunnel: cannot read ${REGISTRY} (${err.code}); the last registry read stays in force\n`);
            cache = { version: err.code, credentials: cache.credentials };
        }
    }
    return cache.credentials;
}

function parse(text) {
    const parsed = new Map();
    for (const line of text.split('\n')) {
        const [name, , digest] = line.split(' ');
        if (name && !name.startsWith('#') && DIGEST.test(digest || '')) {
            parsed.set(name, digest);
        }
    }
    return parsed;
}

// An IPv4 address as written for IPv4, whether it came on an IPv4 or an IPv6 socket.
function plainAddress(address) {
    return typeof address === 'string' && address.startsWith('::ffff:') ? address.slice(7) : address;
}

// The client's address: X-Real-IP, which the stack's Nginx sets (the server's port is reachable on
// the stack network only), else the socket's peer.
function clientAddress(req) {
    const forwarded = req.headers['x-real-ip'];
    return plainAddress(forwarded && net.isIP(forwarded) ? forwarded : req.socket.remoteAddress);
}

function basicCredentials(header) {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header || '');
    if (!match) {
        return null;
    }
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sha256(text) {
    return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

function refused(status, address, message, headers) {
    return { refused: true, status, address, message, headers };
}

// The verdict on a request to open the tunnel `id`: {owner: {address, credential}} or a refusal.
function authorize(req, id) {
    const address = clientAddress(req);
    const given = basicCredentials(req.headers.authorization);
    if (!given) {
        return refused(401, address, `a device credential is required: lt --host https://${id}:<credential>@<this host>`, {
            'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"`,
        });
    }
    const known = credentials().get(id);
    const matches = crypto.timingSafeEqual(Buffer.from(sha256(given.password)), Buffer.from(known || NO_DEVICE));
    if (!known || !matches || given.user !== id) {
        return refused(403, address, `no device ${id} with this credential`);
    }
    return { owner: { address, credential: known } };
}

// Whether the device that opened a tunnel is still registered with the same credential.
function isCurrent(id, owner) {
    return credentials().get(id) === owner.credential;
}

module.exports = { authorize, isCurrent, clientAddress };

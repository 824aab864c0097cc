#!/usr/bin/env node
// p2pvps-config.js: the ConnextCMS container's runtime configuration.
//
// One place reads and validates the environment. The patched site-template
// files require this module (config()) instead of hard-coded hosts and
// credentials; the entrypoint uses its command line:
//   node p2pvps-config.js check                        validate, print problems, exit 1 if any
//   node p2pvps-config.js mongo-uri                    print the mongodb:// URI (contains the password)
//   node p2pvps-config.js private-settings FILE SEED   write FILE = SEED (or FILE) + MAILGUN_*/ADMIN_EMAIL
// Written for Node 8 (the CMS runtime): no syntax newer than ES2017.
'use strict';

var fs = require('fs');
var path = require('path');

var HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
var EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;
var HTTP_BASE_URL = /^https?:\/\/[A-Za-z0-9.-]+(?::[0-9]{1,5})?$/;
var MONGO_DB_NAME = /^[A-Za-z0-9_-]{1,63}$/;
// The site template calls its own API on http://localhost:3000 in several places.
var REQUIRED_PORT = 3000;

function parsePort(value, name, errors) {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    errors.push(name + '="' + value + '" is not a TCP port (1-65535)');
    return null;
  }
  return Number(value);
}

function get(env, name, fallback) {
  var value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

// Returns {config, errors}; config is only complete when errors is empty.
function load(env) {
  var errors = [];
  var c = {};

  var port = parsePort(get(env, 'PORT', String(REQUIRED_PORT)), 'PORT', errors);
  if (port !== null && port !== REQUIRED_PORT) {
    errors.push('PORT must be ' + REQUIRED_PORT + ': the site template calls its own API on localhost:' +
      REQUIRED_PORT);
  }
  c.port = port;

  c.mongoHost = get(env, 'MONGO_HOST', 'mongodb');
  if (!HOSTNAME.test(c.mongoHost)) errors.push('MONGO_HOST="' + c.mongoHost + '" is not a host name');
  c.mongoPort = parsePort(get(env, 'MONGO_PORT', '27017'), 'MONGO_PORT', errors);
  c.mongoDb = get(env, 'MONGO_DB', 'connextcms');
  if (!MONGO_DB_NAME.test(c.mongoDb)) errors.push('MONGO_DB="' + c.mongoDb + '" is not a database name');
  c.mongoUser = get(env, 'MONGO_USER', 'connextcms');
  c.mongoPassword = get(env, 'MONGO_PASSWORD', '');
  if (c.mongoPassword === '') errors.push('MONGO_PASSWORD is required (secret)');

  var cookieSecret = get(env, 'COOKIE_SECRET', '');
  if (cookieSecret.length < 32) errors.push('COOKIE_SECRET is required and must have at least 32 characters (secret)');
  c.serviceToken = get(env, 'CMS_SERVICE_TOKEN', '');
  if (c.serviceToken.length < 32) {
    errors.push('CMS_SERVICE_TOKEN is required and must have at least 32 characters (secret): the Listing-Manager ' +
      'sends it to reach the routes only the stack\'s services may call');
  }

  c.obUrl = get(env, 'OB_URL', 'http://openbazaar:4002');
  if (!HTTP_BASE_URL.test(c.obUrl)) {
    errors.push('OB_URL="' + c.obUrl + '" must be http(s)://host[:port] with no path or trailing slash');
  }
  c.obUsername = get(env, 'OB_USERNAME', '');
  if (c.obUsername === '' || c.obUsername.indexOf(':') !== -1) {
    errors.push('OB_USERNAME is required and must not contain ":"');
  }
  c.obPassword = get(env, 'OB_PASSWORD', '');
  if (c.obPassword === '') errors.push('OB_PASSWORD is required (secret)');

  c.siteDomain = get(env, 'SITE_DOMAIN', '');
  if (!HOSTNAME.test(c.siteDomain) || c.siteDomain.indexOf('.') === -1) {
    errors.push('SITE_DOMAIN="' + c.siteDomain + '" must be the public host name, e.g. p2pvps.example.org');
  }

  c.adminEmail = get(env, 'ADMIN_EMAIL', '');
  if (c.adminEmail !== '' && !EMAIL.test(c.adminEmail)) errors.push('ADMIN_EMAIL="' + c.adminEmail + '" is not an e-mail address');
  c.mailFrom = c.adminEmail !== '' ? c.adminEmail : 'noreply@' + c.siteDomain;
  c.mailgunDomain = get(env, 'MAILGUN_DOMAIN', '');
  if (c.mailgunDomain !== '' && !HOSTNAME.test(c.mailgunDomain)) {
    errors.push('MAILGUN_DOMAIN="' + c.mailgunDomain + '" is not a domain');
  }
  c.mailgunApiKey = get(env, 'MAILGUN_API_KEY', '');
  var cloudinaryUrl = get(env, 'CLOUDINARY_URL', '');
  if (cloudinaryUrl !== '' && !/^cloudinary:\/\/[^:@\s]+:[^@\s]+@[A-Za-z0-9_-]+$/.test(cloudinaryUrl)) {
    errors.push('CLOUDINARY_URL must look like cloudinary://API_KEY:API_SECRET@CLOUD_NAME');
  }
  c.cmsAdminPassword = get(env, 'CMS_ADMIN_PASSWORD', '');
  if (c.cmsAdminPassword !== '' && c.cmsAdminPassword.length < 12) {
    errors.push('CMS_ADMIN_PASSWORD must have at least 12 characters (secret)');
  }

  c.sshServerPort = parsePort(get(env, 'SSH_SERVER_PORT', '6100'), 'SSH_SERVER_PORT', errors);
  var range = get(env, 'SSH_TUNNEL_PORTS', '6101-6200');
  var match = /^([0-9]{1,5})-([0-9]{1,5})$/.exec(range);
  if (!match) {
    errors.push('SSH_TUNNEL_PORTS="' + range + '" must look like 6101-6200');
  } else {
    c.tunnelFirst = parsePort(match[1], 'SSH_TUNNEL_PORTS (first)', errors);
    c.tunnelLast = parsePort(match[2], 'SSH_TUNNEL_PORTS (last)', errors);
    if (c.tunnelFirst !== null && c.tunnelLast !== null) {
      if (c.tunnelFirst < 2 || c.tunnelFirst > c.tunnelLast) {
        errors.push('SSH_TUNNEL_PORTS="' + range + '": first port must be >= 2 and <= last port');
      } else if (c.sshServerPort !== null && c.sshServerPort >= c.tunnelFirst && c.sshServerPort <= c.tunnelLast) {
        errors.push('SSH_TUNNEL_PORTS="' + range + '" contains SSH_SERVER_PORT=' + c.sshServerPort);
      }
    }
  }
  return { config: c, errors: errors };
}

function mongoUri(c) {
  return 'mongodb://' + encodeURIComponent(c.mongoUser) + ':' + encodeURIComponent(c.mongoPassword) + '@' +
    c.mongoHost + ':' + c.mongoPort + '/' + c.mongoDb + '?authSource=' + encodeURIComponent(c.mongoDb);
}

// Merges the optional MailGun/admin settings into privatesettings.json. Keys
// whose variable is unset keep the value already in the file (the ConnextCMS
// dashboard can edit them too).
function writePrivateSettings(c, file, seed) {
  var source = fs.existsSync(file) ? file : seed;
  var settings = JSON.parse(fs.readFileSync(source, 'utf8'));
  if (c.mailgunDomain !== '') settings.mailGunDomain = c.mailgunDomain;
  if (c.mailgunApiKey !== '') settings.mailGunApiKey = c.mailgunApiKey;
  if (c.adminEmail !== '') settings.adminEmail = c.adminEmail;
  var tmp = path.join(path.dirname(file), '.' + path.basename(file) + '.tmp');
  fs.writeFileSync(tmp, JSON.stringify(settings, null, 4) + '\n', { mode: 384 });
  fs.renameSync(tmp, file);
}

var cached = null;
function config() {
  if (cached === null) {
    var result = load(process.env);
    if (result.errors.length > 0) {
      throw new Error('invalid ConnextCMS configuration:\n  ' + result.errors.join('\n  '));
    }
    cached = result.config;
  }
  return cached;
}

function main(argv) {
  var result = load(process.env);
  if (result.errors.length > 0) {
    process.stderr.write('p2pvps-config: invalid configuration:\n  ' + result.errors.join('\n  ') + '\n');
    return 1;
  }
  var command = argv[0];
  if (command === 'check' && argv.length === 1) return 0;
  if (command === 'mongo-uri' && argv.length === 1) {
    process.stdout.write(mongoUri(result.config));
    return 0;
  }
  if (command === 'private-settings' && argv.length === 3) {
    writePrivateSettings(result.config, argv[1], argv[2]);
    return 0;
  }
  process.stderr.write('usage: p2pvps-config.js check | mongo-uri | private-settings FILE SEED\n');
  return 2;
}

if (require.main === module) {
  process.exit(main(process.argv.slice(2)));
}

module.exports = { config: config, load: load, mongoUri: mongoUri };

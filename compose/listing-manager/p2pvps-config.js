// p2pvps-config.js: the Listing-Manager's runtime configuration, installed as
// lib/p2pvps-config.js. The patched listing-manager.js and lib/util.js read
// every host, port and credential from here instead of hard-coded values.
'use strict';

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// Upstream builds URLs as `${server}:${port}/api/...`, so only scheme://host[:port] fits.
const HTTP_BASE_URL = /^(https?:\/\/[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?\/?$/;

function get(env, name, fallback) {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

function parseBaseUrl(value, name, errors) {
  const match = HTTP_BASE_URL.exec(value);
  if (!match) {
    errors.push(`${name}="${value}" must be http(s)://host[:port] with no path`);
    return { origin: null, port: null };
  }
  const port = match[2] !== undefined ? Number(match[2]) : value.startsWith('https:') ? 443 : 80;
  if (port < 1 || port > 65535) errors.push(`${name}="${value}" has an invalid port`);
  return { origin: match[1], port: String(port) };
}

// Returns {config, errors}; config is only complete when errors is empty.
function load(env) {
  const errors = [];
  const server = parseBaseUrl(get(env, 'SERVER_URL', 'http://connextcms:3000'), 'SERVER_URL', errors);
  const ob = parseBaseUrl(get(env, 'OB_URL', 'http://openbazaar:4002'), 'OB_URL', errors);
  const config = {
    server: server.origin,
    serverPort: server.port,
    obServer: ob.origin,
    obPort: ob.port,
    obUsername: get(env, 'OB_USERNAME', ''),
    obPassword: get(env, 'OB_PASSWORD', ''),
    host: get(env, 'P2PVPS_HOST', ''),
    serviceToken: get(env, 'CMS_SERVICE_TOKEN', ''),
  };
  if (config.obUsername === '' || config.obUsername.includes(':')) {
    errors.push('OB_USERNAME is required and must not contain ":"');
  }
  if (config.obPassword === '') errors.push('OB_PASSWORD is required (secret)');
  if (config.serviceToken.length < 32) {
    errors.push('CMS_SERVICE_TOKEN is required and must have at least 32 characters (secret): the CMS answers ' +
      'the Listing-Manager\'s calls only with it');
  }
  if (!HOSTNAME.test(config.host) || !config.host.includes('.')) {
    errors.push(`P2PVPS_HOST="${config.host}" must be the public host name renters SSH to, e.g. p2pvps.example.org`);
  }
  return { config, errors };
}

let cached = null;
function config() {
  if (cached === null) {
    const result = load(process.env);
    if (result.errors.length > 0) {
      throw new Error(`invalid Listing-Manager configuration:\n  ${result.errors.join('\n  ')}`);
    }
    cached = result.config;
  }
  return cached;
}

module.exports = { config, load };

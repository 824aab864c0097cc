// p2pvps-error.js: what the Listing-Manager logs of a failure, installed as lib/p2pvps-error.js.
// Upstream logged JSON.stringify(err) of request-promise errors, whose `options` and `response`
// carry the request headers: the X-P2PVPS-Service-Token sent to the CMS and the Basic credentials
// sent to OpenBazaar. The patched code logs summary(err) instead: kind, HTTP status and message.
'use strict';

function summary(err) {
  if (err === null || typeof err !== 'object') return JSON.stringify(err);
  return JSON.stringify({ name: err.name, statusCode: err.statusCode, message: err.message });
}

module.exports = { summary };

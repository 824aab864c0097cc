// p2pvps-access.js: who may call each route of the site template, installed next to
// p2pvps-config.js. The patched routes/index.js hands its Express app to guardRoutes(); every
// route the template (and its plugin routers) binds then gets the guard its entry in ROUTES
// names, placed just before the route's own handler. A route missing from ROUTES, or any use of
// the app other than binding a route (app.use, app.route, app.param...), stops the CMS at start,
// so no upstream route or middleware can appear unguarded. Before any of that, every request
// passes requestGuard (no JSONP, no cross-site API or state-changing call). README.md, "Who calls
// what", is the same in prose. Written for Node 8 (no syntax newer than ES2017).
'use strict';

var crypto = require('crypto');
var keystone = require('keystone');

var SERVICE_TOKEN_HEADER = 'x-p2pvps-service-token';
var LOOPBACK = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];
var RECORD_ID = /^[0-9a-f]{24}$/;
var ONE_ADDRESS = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/;
var SIGN_UP_FIELDS = ['name', 'name.first', 'name.last', 'email', 'password', 'password_confirm'];
var SIGN_IN_PAGE = '/keystone/signin';
var BINDERS = ['get', 'post', 'put', 'patch', 'delete', 'all'];
var SAFE_METHODS = ['GET', 'HEAD', 'OPTIONS'];
var OWN_SITE_FETCHES = ['same-origin', 'none'];
var API_PATH = /^\/(keystone\/)?api(\/|$)/i;
var SIGN_OUT_PATH = /^\/keystone\/signout\/?$/i;

function settings() {
  return require('./p2pvps-config').config();
}

function refuse(res, status, message) {
  res.status(status).json({ error: message });
}

function userId(req) {
  return req.user ? String(req.user.id || req.user._id) : null;
}

function isAdmin(req) {
  return Boolean(req.user) && req.user.isAdmin === true;
}

function sameSecret(given, expected) {
  var a = Buffer.from(String(given));
  var b = Buffer.from(expected);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

// The CMS calling itself on loopback, or a service of the stack (the Listing-Manager) with the
// shared token. Nginx removes the token header from every request it forwards.
function isService(req) {
  var socket = req.socket || req.connection;
  if (socket && LOOPBACK.indexOf(socket.remoteAddress) !== -1) return true;
  var token = req.headers[SERVICE_TOKEN_HEADER];
  return typeof token === 'string' && sameSecret(token, settings().serviceToken);
}

function idOf(value) {
  if (value === undefined || value === null || value === '') return null;
  return String(value._id || value);
}

// What the upstream handler reads: the body of a POST, the query string otherwise.
function input(req) {
  return req.method === 'POST' ? req.body || {} : req.query || {};
}

function keepOnly(data, allowed) {
  var kept = {};
  Object.keys(data || {}).forEach(function (key) {
    if (allowed.indexOf(key) !== -1) kept[key] = data[key];
  });
  return kept;
}

// Calls done(null) when record `id` of `listName` names the signed-in user in one of `fields`,
// else done(status, message).
function checkOwner(req, listName, id, fields, done) {
  if (typeof id !== 'string' || !RECORD_ID.test(id)) return done(400, 'not a record id');
  keystone.list(listName).model.findById(id).exec(function (err, item) {
    if (err) return done(500, 'database error');
    if (!item) return done(404, 'no such record');
    var me = userId(req);
    var mine = fields.some(function (field) {
      return idOf(item.get(field)) === me;
    });
    return mine ? done(null) : done(403, 'not your record');
  });
}

// Runs `guards` one after the other; the first that answers ends the chain.
function chain(guards) {
  return function (req, res, next) {
    var step = function (i) {
      if (i === guards.length) return next();
      guards[i](req, res, function () {
        step(i + 1);
      });
    };
    step(0);
  };
}

function anyone(req, res, next) {
  next();
}

function signedIn(req, res, next) {
  if (!req.user) return refuse(res, 401, 'sign in first');
  next();
}

function admin(req, res, next) {
  if (!req.user) return refuse(res, 401, 'sign in first');
  if (!isAdmin(req)) return refuse(res, 403, 'administrators only');
  next();
}

function service(req, res, next) {
  if (isAdmin(req) || isService(req)) return next();
  refuse(res, req.user ? 403 : 401, 'administrators and the stack\'s services only');
}

function signedInPage(req, res, next) {
  if (!req.user) return res.redirect(SIGN_IN_PAGE);
  next();
}

function adminPage(req, res, next) {
  if (!req.user) return res.redirect(SIGN_IN_PAGE);
  if (!isAdmin(req)) return res.status(403).send('administrators only');
  next();
}

// The record named by :id must belong to the signed-in user (in one of `fields`); administrators
// pass, and so do the stack's services when `services` is true.
function ownerOf(listName, fields, services) {
  return function (req, res, next) {
    if (isAdmin(req) || (services && isService(req))) return next();
    if (!req.user) return refuse(res, 401, 'sign in first');
    checkOwner(req, listName, req.params.id, fields, function (status, message) {
      if (status) return refuse(res, status, message);
      next();
    });
  };
}

// What a signed-in user may write: only the `allowed` fields; each field in `refs` ({field:
// list}) must be empty or name a record the user owns; `stampOwner` makes the user the
// record's ownerUser. Administrators and the stack's services write as upstream lets them.
function userWrites(allowed, refs, stampOwner) {
  return function (req, res, next) {
    if (isAdmin(req) || isService(req)) return next();
    if (!req.user) return refuse(res, 401, 'sign in first');
    req.body = keepOnly(req.body, allowed);
    req.query = keepOnly(req.query, allowed);
    var data = input(req);
    if (stampOwner) data.ownerUser = userId(req);
    var fields = Object.keys(refs).filter(function (field) {
      return data[field] !== undefined && data[field] !== '';
    });
    var check = function (i) {
      if (i === fields.length) return next();
      var field = fields[i];
      checkOwner(req, refs[field], data[field], ['ownerUser'], function (status, message) {
        if (status) return refuse(res, status, field + ': ' + message);
        check(i + 1);
      });
    };
    check(0);
  };
}

// KeystoneJS's res.apiResponse answers JSONP when the query has `callback` (and Express takes the
// function's name from its 'jsonp callback name' setting): a foreign page's <script> tag would
// then read a signed-in user's answers. No caller of the CMS uses JSONP.
function asksForJsonp(req, app) {
  return ['callback', app.get('jsonp callback name')].some(function (name) {
    return Object.prototype.hasOwnProperty.call(req.query, name);
  });
}

// The site's pages: SITE_DOMAIN and www.SITE_DOMAIN, the names the stack's Nginx serves the CMS
// on, over HTTPS on port 443; browsers write an origin in lower case.
function ownOrigins() {
  var domain = settings().siteDomain.toLowerCase();
  return ['https://' + domain, 'https://www.' + domain];
}

// A request a browser sent for another site's page (Sec-Fetch-Site other than same-origin or
// none, or an Origin header other than one of the site's own). Devices, the Listing-Manager and
// the CMS itself send neither header.
function fromAnotherSite(req) {
  var fetchSite = req.headers['sec-fetch-site'];
  if (fetchSite !== undefined && OWN_SITE_FETCHES.indexOf(fetchSite) === -1) return true;
  var origin = req.headers.origin;
  return origin !== undefined && ownOrigins().indexOf(origin) === -1;
}

// What a signed-in administrator's browser must never do for another site: call an API (/api/*,
// /keystone/api/*), change state (any method but GET, HEAD, OPTIONS) or sign out.
function needsOwnSite(req) {
  return SAFE_METHODS.indexOf(req.method) === -1 || API_PATH.test(req.path) || SIGN_OUT_PATH.test(req.path);
}

// Runs for every request, before KeystoneJS's admin UI and the template's routes.
function requestGuard(app) {
  return function (req, res, next) {
    if (asksForJsonp(req, app)) return refuse(res, 400, 'JSONP is not served');
    if (needsOwnSite(req) && fromAnotherSite(req)) return refuse(res, 403, 'request from another site refused');
    next();
  };
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// The welcome e-mail of a new account, built here and sent through ConnextCMS's own mail handler
// to that one address (the sign-up page used to have the browser send it: an open relay).
function sendWelcome(mailer, address) {
  var site = settings();
  var link = 'https://' + site.siteDomain + SIGN_IN_PAGE;
  var sent = false;
  mailer.send({
    method: 'POST',
    body: {
      email: address,
      from: site.mailFrom,
      subject: 'Your account at ' + site.siteDomain,
      html: 'true',
      body: '<!DOCTYPE html><html lang="en"><body>Your account at ' + site.siteDomain + ' is ready.<br><br>' +
        'Your login is your e-mail address.<br><br><a href="' + link + '">Sign in here</a></body></html>'
    }
  }, {
    apiResponse: function () { sent = true; },
    apiError: function () { sent = false; }
  });
  return sent;
}

// Anonymous sign-up (and a non-administrator creating a user): only the fields a sign-up needs,
// never isAdmin; one address not yet registered; the answer carries the new id and address
// only. Administrators create users with every field.
function signUp(mailer) {
  return function (req, res, next) {
    if (isAdmin(req)) return next();
    req.body = keepOnly(req.body, SIGN_UP_FIELDS);
    req.query = keepOnly(req.query, SIGN_UP_FIELDS);
    var email = input(req).email;
    if (typeof email !== 'string' || !ONE_ADDRESS.test(email)) return refuse(res, 400, 'one e-mail address');
    var sameAddress = new RegExp('^' + escapeRegExp(email) + '$', 'i');
    keystone.list('User').model.findOne({ email: sameAddress }).exec(function (err, existing) {
      if (err) return refuse(res, 500, 'database error');
      if (existing) return refuse(res, 409, 'this e-mail address already has an account');
      var respond = res.apiResponse;
      res.apiResponse = function (body) {
        var user = body && body.user;
        if (!user) return respond.call(res, body);
        return respond.call(res, {
          user: { _id: user._id, email: user.email },
          welcomeMail: sendWelcome(mailer, user.email)
        });
      };
      next();
    });
  };
}

// ConnextCMS's reset sets a new password first and mails it after: without mail configured the
// account is locked out for good. Refuse then, and take the address only as one string.
function passwordReset(req, res, next) {
  var mail = require('./private/privatesettings.json');
  if (!mail.mailGunDomain || !mail.mailGunApiKey) {
    return refuse(res, 503, 'password reset needs e-mail, which this server has not configured');
  }
  if (typeof req.query.email !== 'string' || !ONE_ADDRESS.test(req.query.email)) {
    return refuse(res, 400, 'one e-mail address');
  }
  next();
}

function contentRoutes(kinds, readers, writers) {
  var table = {};
  kinds.forEach(function (kind) {
    table['get /api/' + kind + '/list'] = readers;
    table['get /api/' + kind + '/:id'] = readers;
    table['all /api/' + kind + '/create'] = writers;
    table['all /api/' + kind + '/:id/update'] = writers;
    table['get /api/' + kind + '/:id/remove'] = writers;
  });
  return table;
}

// Every route the site template binds, by "method path" exactly as bound.
function routeTable(routes) {
  var table = {
    // Site pages.
    'get /': anyone,
    'get /blog/:category?': anyone,
    'get /blog/post/:post': anyone,
    'get /gallery': anyone,
    'all /contact': anyone,
    'get /page/:page': anyone,
    'get /resetpassword': anyone,
    'get /createaccount': anyone,
    'get /renew': anyone,
    'get /test': adminPage,
    'get /market': signedInPage,
    'get /privatepage/:privatepage': signedInPage,
    // The ConnextCMS dashboard.
    'get /dashboard': adminPage,
    'get /edituser': adminPage,
    'get /api/plugins/list': admin,
    'get /api/serversettings/saveprivate': admin,
    'get /api/serversettings/getprivate': admin,
    'get /api/serversettings/savepublic': admin,
    // Users: sign-up for everyone, the rest for administrators.
    'all /api/users/create': signUp(routes.api.email),
    'get /api/users/list': admin,
    'get /api/users/:id': admin,
    'all /api/users/:id/update': admin,
    'get /api/users/:id/remove': admin,
    // Mail: the reset for everyone (rate-limited by Nginx), sending for administrators.
    'get /api/email/resetpassword': passwordReset,
    'all /api/email/send': admin,
    'get /api/email/sendlog': admin,
    // Signed-in users, through the market app.
    'get /api/getUserId': anyone,
    'get /api/devicePublicData/listById': signedIn,
    'get /api/devicePrivateData/listById': signedIn,
    'all /api/devicePublicData/create': userWrites(['deviceName', 'deviceDesc'], {}, true),
    'all /api/devicePublicData/:id/update': chain([
      ownerOf('DevicePublicModel', ['ownerUser'], true),
      userWrites(['deviceName', 'deviceDesc', 'privateData', 'obContract'],
        { privateData: 'DevicePrivateModel', obContract: 'obContractModel' }, false)
    ]),
    'get /api/devicePublicData/:id/remove': ownerOf('DevicePublicModel', ['ownerUser'], false),
    'all /api/devicePrivateData/create': userWrites(['publicData'], { publicData: 'DevicePublicModel' }, true),
    'get /api/devicePrivateData/:id': ownerOf('DevicePrivateModel', ['ownerUser', 'renterUser'], true),
    'all /api/obContract/create': userWrites(
      ['clientDevice', 'price', 'experation', 'title', 'description', 'listingState', 'createdAt', 'updatedAt'],
      { clientDevice: 'DevicePublicModel' }, true),
    'get /api/obContract/:id': ownerOf('obContractModel', ['ownerUser', 'renterUser'], true),
    'get /api/obContract/:id/remove': ownerOf('obContractModel', ['ownerUser'], true),
    'get /api/ob/createMarketListing/:id': ownerOf('obContractModel', ['ownerUser'], true),
    'get /api/ob/removeMarketListing/:id': ownerOf('obContractModel', ['ownerUser'], true),
    // Devices (the P2P VPS client): a device's id is all it has.
    'all /api/devicePublicData/:id/register': anyone,
    'get /api/devicePublicData/:id': anyone,
    'get /api/deviceCheckIn/:id': anyone,
    'get /api/getDeviceExpiration/:id': anyone,
    // Renters renew a rental with the device's id (the /renew page).
    'get /api/rentedDevices/renew/:id': anyone,
    // The CMS itself (loopback) and the Listing-Manager.
    'all /api/portcontrol/create': service,
    'get /api/portcontrol/:id/remove': service,
    'all /api/devicePrivateData/:id/update': service,
    'get /api/devicePrivateData/:id/remove': service,
    'all /api/rentedDevices/add/:id': service,
    'all /api/rentedDevices/remove/:id': service,
    'all /api/rentedDevices/list': service,
    'all /api/obContract/:id/update': service,
    // Administrators only.
    'get /api/devicePublicData/list': admin,
    'get /api/obContract/list': admin,
    'get /api/ob/updateListing/:id': admin
  };
  var content = contentRoutes(['post', 'postcategory', 'page', 'pagesection', 'frontendwidget'], anyone, admin);
  var uploads = contentRoutes(['imageupload', 'fileupload'], admin, admin);
  var privatePages = contentRoutes(['privatepage'], signedIn, admin);
  [content, uploads, privatePages].forEach(function (more) {
    Object.keys(more).forEach(function (key) {
      table[key] = more[key];
    });
  });
  return table;
}

function notGuarded(what) {
  throw new Error('p2pvps-access: ' + what + ' would not be guarded; bind routes with app.' +
    BINDERS.join('/app.') + ' and add a rule to p2pvps-access.js');
}

// `app` for the route bindings: each binding gets its guard just before its last handler. Nothing
// else of the app is reachable (app.use, app.route, app.param and the other methods' binders would
// run code the rules never see); requestGuard is hooked in before KeystoneJS's own routers.
function guardRoutes(app, routes) {
  var table = routeTable(routes);
  keystone.pre('static', requestGuard(app));
  var binders = {};
  BINDERS.forEach(function (method) {
    binders[method] = function (path) {
      if (method === 'get' && arguments.length === 1) return app.get(path);
      var key = method + ' ' + path;
      if (!Object.prototype.hasOwnProperty.call(table, key)) {
        throw new Error('p2pvps-access: no access rule for ' + key + '; add it to p2pvps-access.js');
      }
      var handlers = Array.prototype.slice.call(arguments, 1);
      if (!handlers.every(function (handler) { return typeof handler === 'function'; })) {
        notGuarded('a handler of ' + key + ' that is not a function');
      }
      var bound = [path].concat(handlers.slice(0, -1), [table[key]], handlers.slice(-1));
      return app[method].apply(app, bound);
    };
  });
  return new Proxy(app, {
    get: function (target, name) {
      if (Object.prototype.hasOwnProperty.call(binders, name)) return binders[name];
      return notGuarded('app.' + String(name));
    }
  });
}

module.exports = { guardRoutes: guardRoutes, routeTable: routeTable };

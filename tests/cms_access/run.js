// node run.js APP_DIR < scenario.json
//
// Loads APP_DIR/routes/index.js (the site template's route bindings, as the image has them) with
// the stand-in KeystoneJS on NODE_PATH, binds every route on a recording app, seeds the stand-in's
// settings and lists (as keystone.js and the database would), then sends the scenario's requests
// one after the other through what KeystoneJS's createApp puts in front of the routes (the
// keystone.pre hooks, and for /keystone/* a stand-in of the admin UI's router) and the bound
// handlers, as Express would. Prints the bindings, the answers, the lists' records and the
// handlers' calls.
'use strict';

const fs = require('fs');
const path = require('path');
const keystone = require('keystone');

const ANSWER_TIMEOUT_MS = 2000;
const BINDERS = ['get', 'post', 'put', 'patch', 'delete', 'all'];
// keystone/server/createApp.js: the hooks before the admin UI's router, then those before the routes.
const HOOKS_BEFORE_ADMIN = ['pre:static', 'pre:logger', 'pre:admin'];
const HOOKS_BEFORE_ROUTES = ['pre:bodyparser', 'pre:routes'];
const ADMIN_UI = /^\/keystone(\/|$)/i;

// Records what the routes bind, as an Express app would take it: route binders (app.get with one
// argument reads a setting), app.route(path).METHOD, app.use and app.param.
function RecordingApp(settings) {
  this.routes = [];
  this.settings = Object.assign({ 'jsonp callback name': 'callback' }, settings);
}
RecordingApp.prototype.bind = function (method, route, handlers) {
  this.routes.push({ method, route, handlers });
  return this;
};
BINDERS.concat(['head']).forEach((method) => {
  RecordingApp.prototype[method] = function (route, ...handlers) {
    if (method === 'get' && handlers.length === 0) return this.settings[route];
    return this.bind(method, route, handlers);
  };
});
RecordingApp.prototype.route = function (route) {
  const binders = {};
  BINDERS.forEach((method) => {
    binders[method] = (...handlers) => this.bind(method, route, handlers) && binders;
  });
  return binders;
};
RecordingApp.prototype.use = function (...args) {
  return typeof args[0] === 'function' ? this.bind('use', '/', args) : this.bind('use', args[0], args.slice(1));
};
RecordingApp.prototype.param = function (name, handler) {
  return this.bind('param', name, [handler]);
};

function hooked(name) {
  return keystone.hooks[name.slice('pre:'.length)] || [];
}

// Calls each handler with (req, res, next) until one answers; then `done` if none did.
function pass(handlers, req, res, done) {
  const step = (i) => (i < handlers.length ? handlers[i](req, res, () => step(i + 1)) : done());
  step(0);
}

// express/lib/response.js res.jsonp: the callback's name from the app's setting, first of many.
function jsonpBody(app, req, body) {
  let callback = req.query[app.settings['jsonp callback name']];
  if (Array.isArray(callback)) [callback] = callback;
  if (typeof callback !== 'string' || callback === '') return null;
  const name = callback.replace(/[^[\]\w$.]/g, '');
  return `/**/ typeof ${name} === 'function' && ${name}(${JSON.stringify(body)});`;
}

// Express's matching of a bound path: case-insensitive, optional trailing slash, :name and :name?.
function matcher(route) {
  const names = [];
  const source = route.replace(/\/:(\w+)(\?)?/g, (whole, name, optional) => {
    names.push(name);
    return optional ? '(?:/([^/]+?))?' : '/([^/]+?)';
  });
  return { regex: new RegExp(`^${source}/?$`, 'i'), names };
}

function route(app, req, res) {
  const found = app.routes.find((bound) => (bound.method === 'all' || bound.method === req.method.toLowerCase())
    && matcher(bound.route).regex.test(req.path));
  if (!found) return res.status(404).send('not found');
  const { regex, names } = matcher(found.route);
  const values = regex.exec(req.path).slice(1);
  names.forEach((name, i) => {
    if (values[i] !== undefined) req.params[name] = decodeURIComponent(values[i]);
  });
  return pass(found.handlers, req, res, () => {});
}

function adminUi(req, res) {
  keystone.calls.push({ handler: 'keystone admin UI', method: req.method, path: req.path });
  res.send('keystone admin UI');
}

function dispatch(app, request) {
  return new Promise((resolve) => {
    const url = new URL(request.url, 'http://cms.test');
    const headers = {};
    Object.keys(request.headers || {}).forEach((name) => {
      headers[name.toLowerCase()] = request.headers[name];
    });
    const req = {
      method: request.method,
      path: url.pathname,
      params: {},
      query: Object.fromEntries(url.searchParams),
      body: request.body || {},
      headers,
      user: request.user ? keystone.list('User').store.find((doc) => doc._id === request.user) : undefined,
      socket: { remoteAddress: request.remote || '203.0.113.9' },
    };
    let code = 200;
    const res = {
      status(status) {
        code = status;
        return res;
      },
      json: (body) => resolve({ code, body: JSON.parse(JSON.stringify(body)) }),
      jsonp: (body) => {
        const script = jsonpBody(app, req, body);
        return script === null ? res.json(body) : resolve({ code, type: 'text/javascript', body: script });
      },
      send: (body) => resolve({ code, body }),
      redirect: (location) => resolve({ code: 302, location }),
    };
    setTimeout(() => resolve({ code: 'no answer' }), ANSWER_TIMEOUT_MS).unref();
    pass(HOOKS_BEFORE_ADMIN.flatMap(hooked), req, res, () => {
      if (ADMIN_UI.test(req.path)) return adminUi(req, res);
      return pass(HOOKS_BEFORE_ROUTES.flatMap(hooked), req, res, () => route(app, req, res));
    });
  });
}

async function main(appDir) {
  const scenario = JSON.parse(fs.readFileSync(0, 'utf8'));
  Object.keys(scenario.settings || {}).forEach((key) => keystone.set(key, scenario.settings[key]));
  Object.keys(scenario.seed || {}).forEach((listName) => {
    const Model = keystone.list(listName).model;
    scenario.seed[listName].forEach((record) => new Model(record).save(() => {}));
  });
  const app = new RecordingApp(scenario.app_settings);
  require(path.join(appDir, 'routes', 'index.js'))(app);
  const answers = [];
  for (const request of scenario.requests || []) answers.push(await dispatch(app, request));
  const records = {};
  Object.keys(keystone.lists).forEach((listName) => {
    records[listName] = JSON.parse(JSON.stringify(keystone.lists[listName].store));
  });
  const bindings = app.routes.map((route) => ({ key: `${route.method} ${route.route}`, handlers: route.handlers.length }));
  process.stdout.write(JSON.stringify({ bindings, answers, records, calls: keystone.calls }));
}

main(process.argv[2]).catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});

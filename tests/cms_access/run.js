// node run.js APP_DIR < scenario.json
//
// Loads APP_DIR/routes/index.js (the site template's route bindings, as the image has them) with
// the stand-in KeystoneJS on NODE_PATH, binds every route on a recording app, seeds the stand-in's
// settings and lists (as keystone.js and the database would), then sends the scenario's requests through the bound handlers one after the other, as
// Express would. Prints the bindings, the answers, the lists' records and the stub handlers' calls.
'use strict';

const fs = require('fs');
const path = require('path');
const keystone = require('keystone');

const ANSWER_TIMEOUT_MS = 2000;
const BINDERS = ['get', 'post', 'put', 'patch', 'delete', 'all'];

function RecordingApp() {
  this.routes = [];
}
BINDERS.forEach((method) => {
  RecordingApp.prototype[method] = function (route, ...handlers) {
    if (method === 'get' && handlers.length === 0) return undefined;
    this.routes.push({ method, route, handlers });
    return this;
  };
});

// Express's matching of a bound path: case-insensitive, optional trailing slash, :name and :name?.
function matcher(route) {
  const names = [];
  const source = route.replace(/\/:(\w+)(\?)?/g, (whole, name, optional) => {
    names.push(name);
    return optional ? '(?:/([^/]+?))?' : '/([^/]+?)';
  });
  return { regex: new RegExp(`^${source}/?$`, 'i'), names };
}

function dispatch(app, request) {
  return new Promise((resolve) => {
    const url = new URL(request.url, 'http://cms.test');
    const found = app.routes.find((route) => (route.method === 'all' || route.method === request.method.toLowerCase())
      && matcher(route.route).regex.test(url.pathname));
    if (!found) return resolve({ code: 404 });
    const { regex, names } = matcher(found.route);
    const values = regex.exec(url.pathname).slice(1);
    const params = {};
    names.forEach((name, i) => {
      if (values[i] !== undefined) params[name] = decodeURIComponent(values[i]);
    });
    const headers = {};
    Object.keys(request.headers || {}).forEach((name) => {
      headers[name.toLowerCase()] = request.headers[name];
    });
    const req = {
      method: request.method,
      params,
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
      send: (body) => resolve({ code, body }),
      redirect: (location) => resolve({ code: 302, location }),
    };
    setTimeout(() => resolve({ code: 'no answer' }), ANSWER_TIMEOUT_MS).unref();
    const run = (i) => {
      if (i < found.handlers.length) found.handlers[i](req, res, () => run(i + 1));
    };
    run(0);
  });
}

async function main(appDir) {
  const scenario = JSON.parse(fs.readFileSync(0, 'utf8'));
  Object.keys(scenario.settings || {}).forEach((key) => keystone.set(key, scenario.settings[key]));
  Object.keys(scenario.seed || {}).forEach((listName) => {
    const Model = keystone.list(listName).model;
    scenario.seed[listName].forEach((record) => new Model(record).save(() => {}));
  });
  const app = new RecordingApp();
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

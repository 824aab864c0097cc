// A stand-in for the parts of KeystoneJS 4 the site template's routes use: lists with an
// in-memory model (find, findById, findOne, where, getUpdateHandler, save, remove), the route
// importer, the API response helpers (JSONP when the query has `callback`, as
// lib/middleware/api.js of 4.0.0-beta.5 answers), request hooks (keystone.pre), settings. Route modules of the app directory load for real;
// any other module the importer is asked for answers with a stub handler that records its call.
'use strict';

const fs = require('fs');
const path = require('path');

const settings = {};
const lists = {};
const calls = [];
const hooks = {};
let nextId = 1;

function newId() {
  return (nextId++).toString(16).padStart(24, '0');
}

function matches(doc, conditions) {
  return Object.keys(conditions).every((key) => {
    const wanted = conditions[key];
    const value = doc[key] === undefined || doc[key] === null ? '' : String(doc[key]);
    return wanted instanceof RegExp ? wanted.test(value) : value === String(wanted);
  });
}

function query(run) {
  const conditions = {};
  const chain = {
    where(field, value) {
      conditions[field] = value;
      return chain;
    },
    exec(callback) {
      setImmediate(() => callback(null, run(conditions)));
    },
  };
  return chain;
}

function makeList(name) {
  const store = [];
  function Model(data) {
    Object.assign(this, data || {});
    this._id = this._id || newId();
    this.id = this._id;
  }
  Model.prototype.get = function (key) {
    return this[key];
  };
  Model.prototype.set = function (key, value) {
    this[key] = value;
  };
  Model.prototype.save = function (callback) {
    if (store.indexOf(this) === -1) store.push(this);
    setImmediate(() => callback(null));
  };
  Model.prototype.remove = function (callback) {
    store.splice(store.indexOf(this), 1);
    setImmediate(() => callback(null));
  };
  Model.prototype.getUpdateHandler = function () {
    const doc = this;
    return {
      process(data, callback) {
        Object.assign(doc, data);
        doc.save(callback);
      },
    };
  };
  Model.find = (callback) => {
    const found = query((conditions) => store.filter((doc) => matches(doc, conditions)));
    if (callback) return found.exec(callback);
    return found;
  };
  Model.findById = (id) => query(() => store.find((doc) => doc._id === String(id)) || null);
  Model.findOne = (conditions) => query(() => store.find((doc) => matches(doc, conditions || {})) || null);
  return { model: Model, store };
}

function list(name) {
  if (!lists[name]) lists[name] = makeList(name);
  return lists[name];
}

// A missing view module (a handler) or API module (an object of handlers): each records its call.
function stubModule(where) {
  const view = (req, res) => {
    calls.push({ handler: where, method: req.method });
    res.send(`view ${where}`);
  };
  return new Proxy(view, {
    get(target, handler) {
      if (typeof handler !== 'string' || handler === 'then') return undefined;
      return (req, res) => {
        calls.push({ handler: `${where}.${handler}`, method: req.method, body: req.body, query: req.query });
        res.apiResponse({ handler: `${where}.${handler}` });
      };
    },
  });
}

function importer(base) {
  return (relative) => {
    const directory = path.join(base, relative);
    const loaded = {};
    if (fs.existsSync(directory)) {
      fs.readdirSync(directory).filter((file) => file.endsWith('.js')).forEach((file) => {
        loaded[file.slice(0, -3)] = require(path.join(directory, file));
      });
    }
    return new Proxy(loaded, {
      get: (target, name) => (name in target ? target[name] : stubModule(`${path.basename(directory)}/${String(name)}`)),
    });
  };
}

const middleware = {
  api(req, res, next) {
    res.apiResponse = (data) => (req.query.callback ? res.jsonp(data) : res.json(data));
    res.apiError = (key, err) => res.status(typeof key === 'number' ? key : 500).apiResponse({ error: key, detail: err });
    next();
  },
};

module.exports = {
  importer,
  middleware,
  list,
  lists,
  calls,
  hooks,
  security: {},
  pre(event, ...handlers) {
    hooks[event] = (hooks[event] || []).concat(handlers);
  },
  set(key, value) {
    settings[key] = value;
  },
  get(key) {
    return settings[key];
  },
};

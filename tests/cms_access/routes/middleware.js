// A stand-in for keystone4-compiled's routes/middleware.js: requireUser sends visitors to sign in.
'use strict';

exports.initLocals = (req, res, next) => next();
exports.flashMessages = (req, res, next) => next();
exports.requireUser = (req, res, next) => (req.user ? next() : res.redirect('/keystone/signin'));

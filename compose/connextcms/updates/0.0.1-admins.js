// Replaces keystone4-compiled's updates/0.0.1-admins.js, which created the
// administrator user@keystonejs.com with the password "admin" on an empty
// database. KeystoneJS runs each update once and records it by file name in
// the app_updates collection, so a database migrated from the original
// deployment (where this update already ran) is left untouched.
// On a new database the first administrator is ADMIN_EMAIL with the password
// CMS_ADMIN_PASSWORD; without them the update fails and KeystoneJS exits, so
// no guessable administrator can ever be created.
'use strict';

var keystone = require('keystone');

module.exports = function (done) {
  var email = process.env.ADMIN_EMAIL || '';
  var password = process.env.CMS_ADMIN_PASSWORD || '';
  if (email === '' || password.length < 12) {
    done(new Error('the database has no administrator yet: set ADMIN_EMAIL and CMS_ADMIN_PASSWORD ' +
      '(at least 12 characters) for the first start'));
    return;
  }
  var User = keystone.list('User');
  var admin = new User.model({
    name: { first: 'Site', last: 'Administrator' },
    email: email,
    password: password,
    isAdmin: true
  });
  admin.save(function (err) {
    if (!err) process.stdout.write('p2pvps: created the first administrator ' + email + '\n');
    done(err);
  });
};

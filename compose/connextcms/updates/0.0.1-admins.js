// Replaces keystone4-compiled's updates/0.0.1-admins.js, which created the administrator
// user@keystonejs.com with the password "admin" on an empty database. KeystoneJS runs each
// update once, before it starts serving, and records it by file name in the app_updates
// collection, so a database migrated from the original deployment (where this update already
// ran) is left untouched.
// On a new database the first administrator is ADMIN_EMAIL with the password CMS_ADMIN_PASSWORD
// (an account with that address left by an earlier start that failed half-way is made the
// administrator, not doubled). Its id becomes the ConnextCMS dashboard's super user and admin, in
// publicsettings.json and in the running CMS (keystone.js read that file before updates run).
// Without ADMIN_EMAIL and CMS_ADMIN_PASSWORD the update fails and KeystoneJS exits, so no
// guessable administrator can ever be created.
'use strict';

var fs = require('fs');
var path = require('path');
var keystone = require('keystone');

var PUBLIC_SETTINGS = path.join(__dirname, '..', 'public', 'js', 'publicsettings.json');

function withId(ids, id) {
  var list = [].concat(ids || []);
  return list.indexOf(id) === -1 ? list.concat([id]) : list;
}

// The settings file is a link into the data volume: write its target, atomically.
function makeDashboardAdmin(id) {
  var file = fs.realpathSync(PUBLIC_SETTINGS);
  var settings = JSON.parse(fs.readFileSync(file, 'utf8'));
  settings.superUsers = withId(settings.superUsers, id);
  settings.adminUsers = withId(settings.adminUsers, id);
  var tmp = path.join(path.dirname(file), '.' + path.basename(file) + '.tmp');
  fs.writeFileSync(tmp, JSON.stringify(settings, null, 4) + '\n');
  fs.renameSync(tmp, file);
  keystone.set('superusers', settings.superUsers);
  keystone.set('admins', settings.adminUsers);
}

module.exports = function (done) {
  var email = process.env.ADMIN_EMAIL || '';
  var password = process.env.CMS_ADMIN_PASSWORD || '';
  if (email === '' || password.length < 12) {
    done(new Error('the database has no administrator yet: set ADMIN_EMAIL and CMS_ADMIN_PASSWORD ' +
      '(at least 12 characters) for the first start'));
    return;
  }
  var User = keystone.list('User');
  User.model.findOne({ email: email }).exec(function (err, existing) {
    if (err) return done(err);
    var admin = existing || new User.model({ name: { first: 'Site', last: 'Administrator' }, email: email });
    admin.set('password', password);
    admin.set('isAdmin', true);
    admin.save(function (saveErr) {
      if (saveErr) return done(saveErr);
      try {
        makeDashboardAdmin(String(admin.id));
      } catch (settingsErr) {
        return done(settingsErr);
      }
      process.stdout.write('p2pvps: ' + email + ' is the first administrator\n');
      done();
    });
  });
};

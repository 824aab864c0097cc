// Loaded with `node -r` before the application (keystone.js of ConnextCMS,
// listing-manager.js). Node running as PID 1 gets no default handler for
// SIGTERM/SIGINT, so `docker stop` would wait for its timeout and then SIGKILL
// the service. Exit promptly instead: KeystoneJS 4 keeps no state that needs a
// graceful shutdown (Mongo writes are acknowledged), and the Listing-Manager
// keeps none of its own (it works through the CMS and OpenBazaar APIs).
'use strict';

['SIGTERM', 'SIGINT'].forEach(function (signal) {
  process.on(signal, function () {
    process.stdout.write('p2pvps: received ' + signal + ', exiting\n');
    process.exit(0);
  });
});

'use strict';
// Preload module (node -r): copies everything the process writes to stdout and stderr into
// /var/log/p2pvps/localtunnel.log as well, so the log reaches both `docker logs` and the
// bind-mounted log directory while node stays PID 1 (no tee process in between).
const fs = require('fs');

const LOG_FILE = '/var/log/p2pvps/localtunnel.log';
const fd = fs.openSync(LOG_FILE, 'a');

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, encoding, callback) => {
    const text = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk;
    fs.writeSync(fd, text);
    return write(chunk, encoding, callback);
  };
}

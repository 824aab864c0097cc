// A stand-in: routes/index.js only uses it in a function no route calls.
'use strict';

module.exports = function Unused() {};

// A stand-in for node-promise 0.5's deferred Promise (resolve, reject, then).
'use strict';

function Deferred() {
  this.promise = new global.Promise((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });
}
Deferred.prototype.then = function (onResolved, onRejected) {
  return this.promise.then(onResolved, onRejected);
};

module.exports = { Promise: Deferred };

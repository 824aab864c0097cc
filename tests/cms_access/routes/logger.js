// A stand-in for the site template's winston logger.
'use strict';

module.exports = function Logger() {
  this.debug = () => {};
  this.log = () => {};
  this.error = () => {};
};

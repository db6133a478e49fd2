// The chrome-less public map for the portal's iframe.
(function () {
  'use strict';
  window.djmap.createMap(document.getElementById('map'), window.djmap.cfg.deck, {});
})();

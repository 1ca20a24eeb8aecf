// Tells the LMS that dynamic registration is finished, so it closes cloop's window.
(function () {
  "use strict";
  var host = window.opener || window.parent;
  if (host && host !== window) {
    host.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
  }
})();

// The LMS simulator of `cloop demo`. On the authorisation page it posts the id_token to
// cloop, as a platform's auto-submitted form does. On the course page it is the platform's
// storage frame (LTI client-side postMessage storage): cloop, framed on the same origin,
// keeps its login state here when the browser drops cookies in frames.
(function () {
  "use strict";
  var autopost = document.getElementById("lti-autopost");
  if (autopost) {
    autopost.submit();
    return;
  }
  if (!document.getElementById("lms-course")) { return; }
  var stored = {};
  var origin = window.location.origin;

  function reply(event, message) {
    event.source.postMessage(message, event.origin);
  }

  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (event.origin !== origin || !event.source || typeof data.subject !== "string") { return; }
    if (data.subject === "lti.capabilities") {
      reply(event, {
        subject: "lti.capabilities.response",
        message_id: data.message_id,
        supported_messages: [
          { subject: "lti.capabilities" },
          { subject: "lti.put_data" },
          { subject: "lti.get_data" }
        ]
      });
    } else if (data.subject === "lti.put_data") {
      stored[data.key] = data.value;
      reply(event, { subject: "lti.put_data.response", message_id: data.message_id, key: data.key, value: data.value });
    } else if (data.subject === "lti.get_data") {
      if (Object.prototype.hasOwnProperty.call(stored, data.key)) {
        reply(event, { subject: "lti.get_data.response", message_id: data.message_id, key: data.key, value: stored[data.key] });
      } else {
        reply(event, { subject: "lti.get_data.response", message_id: data.message_id, key: data.key,
          error: { code: "bad_request", message: "no value stored under this key" } });
      }
    }
  });
})();

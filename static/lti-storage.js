// LTI platform storage (lti-cs-pm / lti-pm-s): keeps the login state in the LMS's own
// frame over postMessage, for browsers that block cookies in cross-site iframes.
// The page names what to do in data- attributes of #lti-storage: put the state and go on
// to the platform, or get it back and finish the launch.
(function () {
  "use strict";
  var el = document.getElementById("lti-storage");
  if (!el) { return; }
  var mode = el.dataset.mode;
  var origin = el.dataset.origin;
  var key = el.dataset.key;
  var targetName = el.dataset.target;
  var host = window.opener || window.parent;
  var prefix = "lti.";
  var storageFrame = null;
  var pending = null;
  var finished = false;

  function frameNamed(name) {
    if (!name || name === "_parent") { return host; }
    try { return host.frames[name] || host; } catch (e) { return host; }
  }

  function newId() {
    return "cloop-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
  }

  function finish(value) {
    if (finished) { return; }
    finished = true;
    if (mode === "put") {
      window.location.replace(el.dataset.redirect);
    } else {
      var form = document.getElementById("lti-launch-form");
      if (value) { form.elements.platform_state.value = value; }
      form.submit();
    }
  }

  function sendStorageMessage() {
    pending = newId();
    var message = { subject: prefix + (mode === "put" ? "put_data" : "get_data"), message_id: pending, key: key };
    if (mode === "put") { message.value = el.dataset.value; }
    storageFrame.postMessage(message, origin);
  }

  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (typeof data.subject !== "string") { return; }
    if (/capabilities\.response$/.test(data.subject)) {
      var messages = data.supported_messages || [];
      var wanted = mode === "put" ? "put_data" : "get_data";
      for (var i = 0; i < messages.length; i++) {
        var subject = messages[i].subject || "";
        if (subject === "lti." + wanted || subject === "org.imsglobal.lti." + wanted) {
          prefix = subject.slice(0, subject.length - wanted.length);
          storageFrame = frameNamed(messages[i].frame || targetName);
          sendStorageMessage();
          return;
        }
      }
      finish(null);
      return;
    }
    if (event.origin !== origin || data.message_id !== pending) { return; }
    if (data.subject === prefix + "put_data.response" || data.subject === prefix + "get_data.response") {
      finish(data.error ? null : data.value);
    }
  });

  storageFrame = frameNamed(targetName);
  host.postMessage({ subject: "lti.capabilities", message_id: newId() }, "*");
  host.postMessage({ subject: "org.imsglobal.lti.capabilities", message_id: newId() }, "*");
  // A platform that never answers must not strand the user: go on without storage.
  setTimeout(function () { finish(null); }, 4000);
})();

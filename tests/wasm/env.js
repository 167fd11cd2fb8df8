// env.js: emscripten's --pre-js of build/wasm/<stage>/kvtest.js (web/wasm.mk).
// A module's getenv sees an environment of emscripten's own (USER, PATH,
// HOME, ...), not the process's: this hands it the process's KV_TEST_*
// variables under node, so that KV_TEST_VALUE_THRESHOLD=1 (stage 08's
// tests/wrap/value_threshold.c) works as natively.  Written as emscripten
// 3.1.6's minifier reads it: no destructuring, no arrow functions.
Module["preRun"] = Module["preRun"] || [];
Module["preRun"].push(function () {
  var names = Object.keys(process.env);
  for (var i = 0; i < names.length; i++) {
    if (names[i].indexOf("KV_TEST_") === 0) ENV[names[i]] = process.env[names[i]];
  }
});

/*! meshes-rs embed.js: the host side of the Meshes iframe contract. MIT OR Apache-2.0. */
(function (root, doc) {
  'use strict';

  var live = []; // the mounts of this tab
  var channel = root.BroadcastChannel ? new BroadcastChannel('meshes-embed') : null;
  var local = /^(localhost|127\.0\.0\.1|\[::1\])$/;
  // Every option; the last four are the session hints sent with a mint.
  var OPTIONS = ['basePath', 'minHeight', 'maxHeight', 'timeout', 'retries', 'title',
    'launchPage', 'sessionType', 'resourceType', 'resourceId'];

  function snake(k, sep) { return k.replace(/[A-Z]/g, sep + '$&').toLowerCase(); }

  // Dispatches `meshes:<type>` on `el`, bubbling. Details never hold a token or a launch URL.
  function fire(el, type, detail) {
    el.dispatchEvent(new CustomEvent('meshes:' + type, { bubbles: true, detail: detail || {} }));
  }

  // A number >= min, or the default.
  function num(v, def, min) {
    v = v == null || v === '' ? NaN : Number(v);
    return isFinite(v) && v >= min ? v : def;
  }

  // A same-origin absolute path ("/meshes"): not "//host", no scheme, no backslash, no
  // whitespace or control characters (browsers drop tabs and newlines from URLs).
  function path(p) {
    if (typeof p !== 'string' || !/^\/(?![\/\\])[^\\\x00-\x20\x7f]*$/.test(p)) return null;
    return new URL(p, location.href).origin === location.origin ? p.replace(/\/$/, '') : null;
  }

  // An absolute https: URL (http: only while the page itself is http: on this machine).
  function launchUrl(u) {
    try { u = new URL(u); } catch (e) { return null; }
    return u.protocol === 'https:' ||
      (u.protocol === 'http:' && location.protocol === 'http:' && local.test(location.hostname)) ? u : null;
  }

  // Mounts a Meshes workspace into `target` (a container element, or an existing <iframe>).
  // Options: see embed.d.ts. Returns { unmount(), destroy(), remount() }.
  function mount(target, options) {
    var o = options || {};
    var base = path(o.basePath == null ? '/meshes' : o.basePath);
    var minHeight = num(o.minHeight, 480, 0), maxHeight = num(o.maxHeight, Infinity, minHeight);
    var timeout = num(o.timeout, 15000, 1), retries = num(o.retries, 6, 0);
    var hints = {};
    var frame = target.tagName === 'IFRAME' ? target : null, own = !frame;
    var s = null; // { id, token, generation, origin }: memory only
    var refreshing = null, expectLoad = false, alive = true, stalled = null;
    var timer = null, failures = 0;
    var self;

    OPTIONS.slice(6).forEach(function (k) {
      if (typeof o[k] === 'string' && o[k]) hints[snake(k, '_')] = o[k];
    });

    function error(err, retrying) {
      var d = { status: err.status || 0, code: err.code || (err.status ? 'http_error' : 'network_error'),
                message: err.message, retrying: retrying };
      fire(target, 'error', d);
      if (!retrying && root.console) console.error('meshes:', d.message);
    }

    // A request to the routes; rejects with { status (0: network or timeout), code, message }.
    function api(p, method, body) {
      var ctl = new AbortController(), late = 0;
      var t = setTimeout(function () { late = 1; ctl.abort(); }, timeout);
      function done(e) {
        clearTimeout(t);
        if (late) throw { status: 0, code: 'timeout', message: 'timed out' };
        if (e) throw e.status ? e : { status: 0, code: 'network_error', message: 'network error' };
      }
      return fetch(base + p, {
        method: method, credentials: 'same-origin', cache: 'no-store', redirect: 'error',
        headers: { 'Content-Type': 'application/json' },
        body: method === 'POST' ? JSON.stringify(body || {}) : undefined,
        signal: ctl.signal
      }).then(function (r) {
        return r.status === 204 ? null : r.json().catch(function () { return {}; }).then(function (j) {
          if (r.ok) return j;
          throw { status: r.status, code: j.error, message: j.message || 'HTTP ' + r.status,
                  retryAfter: Number(r.headers.get('Retry-After')) || 0 };
        });
      }).then(function (v) { done(); return v; }, done);
    }

    // Network errors, timeouts, 429 and 5xx are retried, waiting longer each time (1 s, 2 s,
    // 4 s … 30 s, at least the answer's Retry-After); after `retries` it gives up until the
    // tab is shown again or the browser is back online. A 401 signs every tab out.
    function retry(fn, err) {
      if (!alive) return;
      if (err.status === 401) { error(err, false); logout(true); return; }
      var transient = !err.status || err.status === 429 || err.status >= 500;
      var again = transient && failures < retries;
      error(err, again);
      if (!again) {
        if (transient) stalled = fn;
        fire(target, 'expired');
        return;
      }
      failures++;
      clearTimeout(timer);
      timer = setTimeout(fn, Math.max(Math.min(30000, 1000 * Math.pow(2, failures - 1)),
        1000 * (err.retryAfter || 0)));
    }

    function post(msg) {
      if (s && frame.contentWindow) frame.contentWindow.postMessage(msg, s.origin);
    }

    function auth() { post({ type: 'meshes:auth', token: s.token }); }

    // A launch URL serves one load: every (re)mount mints a new session.
    function mint() {
      if (!alive) return;
      if (!base) { error({ code: 'invalid_base_path', message: 'basePath must be a same-origin path' }, false); return; }
      refreshing = null;
      api('/sessions', 'POST', hints).then(function (m) {
        if (!alive) return;
        var url = launchUrl(m.launch_url);
        if (!url) {
          s = null;
          error({ status: 200, code: 'invalid_launch_url', message: 'the launch URL is not https' }, false);
          return;
        }
        failures = 0;
        s = { id: m.session_id, token: m.access_token, generation: m.generation, origin: url.origin };
        expectLoad = true;
        frame.src = url.href;
        fire(target, 'mounted', { sessionId: s.id });
      }, function (e) { retry(mint, e); });
    }

    function refresh() {
      if (!s) return null;
      if (refreshing) return refreshing;
      var id = s.id;
      refreshing = api('/sessions/' + encodeURIComponent(id) + '/refresh', 'POST',
        { generation: s.generation }).then(function (t) {
        refreshing = null;
        if (!alive || !s || s.id !== id) return;
        failures = 0;
        s.token = t.access_token;
        s.generation = t.generation;
        auth();
        fire(target, 'refreshed', { sessionId: id, generation: t.generation });
      }, function (e) {
        refreshing = null;
        if (!alive) return;
        if (e.status === 404 || e.status === 410 || e.status === 422) mint();
        else retry(refresh, e);
      });
      return refreshing;
    }

    // The iframe's navigate message, without anything that could be a token or a URL.
    function navigation(d) {
      var out = {};
      Object.keys(d).forEach(function (k) {
        if (!/type|token|url|launch/i.test(k) && /^[snb]/.test(typeof d[k])) out[k] = d[k];
      });
      return out;
    }

    function onMessage(e) {
      if (!s || e.source !== frame.contentWindow || e.origin !== s.origin) return;
      var d = e.data || {};
      switch (d.type) {
        case 'meshes:ready': auth(); fire(target, 'authenticated', { sessionId: s.id }); break;
        case 'meshes:token-refresh': refresh(); break;
        case 'meshes:token-expired': mint(); break;
        case 'meshes:navigate': fire(target, 'navigate', navigation(d)); break;
        case 'meshes:resize':
          var h = Number(d.height);
          if (isFinite(h)) frame.style.height = Math.ceil(Math.min(maxHeight, Math.max(minHeight, h))) + 'px';
      }
    }

    // Any load we did not start is a reload or navigation of the iframe: remount.
    function onLoad() {
      if (expectLoad) { expectLoad = false; return; }
      if (alive && s) mint();
    }

    function unmount() {
      alive = false;
      s = null;
      live = live.filter(function (m) { return m !== self; });
      root.removeEventListener('message', onMessage);
      frame.removeEventListener('load', onLoad);
      clearTimeout(timer);
      if (own && frame.parentNode) frame.parentNode.removeChild(frame);
      else frame.src = 'about:blank';
    }

    if (own) {
      frame = doc.createElement('iframe');
      frame.title = o.title || 'Meshes workspace';
      frame.style.width = '100%';
      frame.style.border = '0';
      target.appendChild(frame);
    }
    frame.style.height = minHeight + 'px';
    root.addEventListener('message', onMessage);
    frame.addEventListener('load', onLoad);

    self = {
      unmount: unmount,
      // Unmounts and revokes the session on the backend.
      destroy: function () {
        var id = s && s.id;
        unmount();
        if (id) return api('/sessions/' + encodeURIComponent(id), 'DELETE').catch(function () {});
      },
      remount: function () { if (alive) { failures = 0; mint(); } },
      // After giving up: try again (the tab was shown, or the browser is online again).
      resume: function () {
        var fn = stalled;
        stalled = null;
        if (alive && fn) { failures = 0; fn(); }
      }
    };
    live.push(self);
    mint();
    return self;
  }

  // Unmounts every embed of this tab and, with `everywhere`, of every tab of this origin.
  function logout(everywhere) {
    live.slice().forEach(function (m) { m.unmount(); });
    if (everywhere && channel) channel.postMessage({ type: 'logout' });
    fire(doc, 'logout');
  }
  if (channel) channel.onmessage = function (e) { if (e.data && e.data.type === 'logout') logout(false); };

  function resumeAll() {
    if (doc.visibilityState !== 'hidden') live.forEach(function (m) { m.resume(); });
  }
  doc.addEventListener('visibilitychange', resumeAll);
  root.addEventListener('online', resumeAll);

  // Options from an element's attributes: `data-base-path` … or, on <meshes-embed>, `base-path` ….
  function fromAttributes(el, prefix) {
    var o = {};
    OPTIONS.forEach(function (k) {
      var v = el.getAttribute(prefix + snake(k, '-'));
      if (v != null) o[k] = v;
    });
    return o;
  }

  function auto() {
    var els = doc.querySelectorAll('[data-meshes-embed]');
    for (var i = 0; i < els.length; i++) {
      if (!els[i].meshesEmbed) els[i].meshesEmbed = mount(els[i], fromAttributes(els[i], 'data-'));
    }
  }

  root.MeshesEmbed = { mount: mount, logout: function () { logout(true); } };

  // <meshes-embed base-path="/meshes" launch-page="rules"></meshes-embed>
  if (root.customElements && !customElements.get('meshes-embed')) {
    customElements.define('meshes-embed', class extends HTMLElement {
      connectedCallback() {
        if (!this.style.display) this.style.display = 'block';
        if (!this.meshesEmbed) this.meshesEmbed = mount(this, fromAttributes(this, ''));
      }
      disconnectedCallback() {
        if (this.meshesEmbed) this.meshesEmbed.unmount();
        this.meshesEmbed = null;
      }
    });
  }

  // <div data-meshes-embed data-base-path="/meshes" data-launch-page="rules"></div> mounts itself.
  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', auto);
  else auto();
})(window, document);

/*! meshes-rs embed.js: the host side of the Meshes iframe contract. MIT OR Apache-2.0. */
(function (root, doc) {
  'use strict';

  var live = []; // the mounts of this tab
  var channel = root.BroadcastChannel ? new BroadcastChannel('meshes-embed') : null;
  var local = /^(localhost|127\.0\.0\.1|\[::1\])$/;
  // Every option; the last four are the session hints sent with a mint.
  var OPTIONS = ['basePath', 'minHeight', 'maxHeight', 'timeout', 'retries', 'title',
    'launchPage', 'sessionType', 'resourceType', 'resourceId'];
  // A mount path: "" or "/a/b", no "." or ".." segment, nothing a URL would reinterpret.
  var MOUNT = /^(\/(?!\.\.?(\/|$))[\w.~!$&'()*+,;=:@%-]+)*$/;
  // The mount (`home`): where the library served this script, from the script's own URL, read now
  // (markup can never choose it). The getter is Document's own, so an injected
  // <img name="currentScript"> cannot stand in for the script; `src` is resolved against the
  // page's address, since a <base> injected after the script would move `el.src`.
  var home = (function () {
    try {
      var el = Object.getOwnPropertyDescriptor(Document.prototype, 'currentScript').get.call(doc);
      var u = el instanceof HTMLScriptElement && new URL(el.getAttribute('src'), location.href);
      var m = u && u.origin === location.origin && /^(.*)\/embed\.js$/.exec(u.pathname);
      return m && MOUNT.test(m[1]) ? m[1] : null;
    } catch (e) { return null; }
  })();
  var waiting = []; // <meshes-embed> elements connected before the mount was known

  function snake(k, sep) { return k.replace(/[A-Z]/g, sep + '$&').toLowerCase(); }

  // Dispatches `meshes:<type>` on `el`, bubbling. Details never hold a token or a launch URL.
  function fire(el, type, detail) {
    el.dispatchEvent(new CustomEvent('meshes:' + type, { bubbles: true, detail: detail || {} }));
  }

  // A number in [min, max], or the default.
  function num(v, def, min, max) {
    v = v == null || v === '' ? NaN : Number(v);
    return isFinite(v) && v >= min ? Math.min(v, max) : def;
  }

  // An absolute URL of this origin and mount: `/sessions`, `/sessions/{id}` or
  // `/sessions/{id}/refresh` below it, or null. Built from location.origin, so <base> does not
  // count; checked again as a whole before any fetch.
  function endpoint(id, refresh) {
    var u = location.origin + home + '/sessions' + (id ? '/' + id + (refresh ? '/refresh' : '') : '');
    return (!id || /^[\w~-][\w.~-]{0,199}$/.test(id)) && new URL(u).href === u ? u : null;
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
    // basePath may only name the mount itself (trailing slash aside).
    var base = home != null && (o.basePath == null || o.basePath === home || o.basePath === home + '/');
    var minHeight = num(o.minHeight, 480, 0, Infinity), maxHeight = num(o.maxHeight, Infinity, minHeight, Infinity);
    var timeout = num(o.timeout, 15000, 1000, 60000), retries = num(o.retries, 6, 0, 10);
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
    function api(url, method, body) {
      if (!url) return Promise.reject({ status: 400, code: 'invalid_base_path', message: 'not a URL of the mount' });
      var ctl = new AbortController(), late = 0;
      var t = setTimeout(function () { late = 1; ctl.abort(); }, timeout);
      function done(e) {
        clearTimeout(t);
        if (late) throw { status: 0, code: 'timeout', message: 'timed out' };
        if (e) throw e.status ? e : { status: 0, code: 'network_error', message: 'network error' };
      }
      return fetch(url, {
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

    // Network errors, timeouts, 429 and 5xx are retried after the answer's Retry-After plus a
    // random share of a window that doubles each time (1 s, 2 s, 4 s … 30 s: full jitter), so
    // tabs that failed together do not come back together; after `retries` it gives up until
    // the tab is shown again or the browser is back online. A 401 signs every tab out.
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
      timer = setTimeout(fn, 1000 * (err.retryAfter || 0) +
        Math.random() * Math.min(30000, 1000 * Math.pow(2, failures - 1)));
    }

    function post(msg) {
      if (s && frame.contentWindow) frame.contentWindow.postMessage(msg, s.origin);
    }

    function auth() { post({ type: 'meshes:auth', token: s.token }); }

    // A launch URL serves one load: every (re)mount mints a new session.
    function mint() {
      if (!alive) return;
      if (!base) {
        error({ code: 'invalid_base_path', message: 'basePath is not the mount of embed.js' }, false);
        return;
      }
      refreshing = null;
      api(endpoint(), 'POST', hints).then(function (m) {
        if (!alive) return;
        var url = launchUrl(m.launch_url);
        if (!url || !endpoint(m.session_id)) {
          s = null;
          error(url ? { status: 200, code: 'invalid_session', message: 'the session id is not valid' }
            : { status: 200, code: 'invalid_launch_url', message: 'the launch URL is not https' }, false);
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
      refreshing = api(endpoint(id, 1), 'POST', { generation: s.generation }).then(function (t) {
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
        if (id) return api(endpoint(id), 'DELETE').catch(function () {});
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
    if (home == null) return;
    var els = doc.querySelectorAll('[data-meshes-embed]');
    for (var i = 0; i < els.length; i++) {
      if (!els[i].meshesEmbed) els[i].meshesEmbed = mount(els[i], fromAttributes(els[i], 'data-'));
    }
    waiting.splice(0).forEach(function (el) { if (el.isConnected) el.connectedCallback(); });
  }

  root.MeshesEmbed = {
    mount: mount,
    logout: function () { logout(true); },
    // For a bundled copy (not served by the library): where the routes are mounted. Trusted
    // JavaScript only; a copy served from `<mount>/embed.js` knows its mount already.
    configure: function (c) {
      var m = c && typeof c.mount === 'string' ? c.mount.replace(/\/$/, '') : null;
      if (m == null || !MOUNT.test(m) || (home != null && m !== home)) {
        throw new Error('meshes: invalid or conflicting mount');
      }
      home = m;
      auto();
    }
  };

  // <meshes-embed launch-page="rules"></meshes-embed>
  if (root.customElements && !customElements.get('meshes-embed')) {
    customElements.define('meshes-embed', class extends HTMLElement {
      connectedCallback() {
        if (!this.style.display) this.style.display = 'block';
        if (home == null) waiting.push(this);
        else if (!this.meshesEmbed) this.meshesEmbed = mount(this, fromAttributes(this, ''));
      }
      disconnectedCallback() {
        if (this.meshesEmbed) this.meshesEmbed.unmount();
        this.meshesEmbed = null;
      }
    });
  }

  // <div data-meshes-embed data-launch-page="rules"></div> mounts itself.
  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', auto);
  else auto();
})(window, document);

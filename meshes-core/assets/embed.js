/*! meshes-rs embed.js: the host side of the Meshes iframe contract. MIT OR Apache-2.0. */
(function (root, doc) {
  'use strict';
  if (root.MeshesEmbed) return; // loaded twice: the first copy serves the page

  // From the first line: which windows said `meshes:ready` (and from which origin) and which
  // iframes loaded, so that an iframe in the page's HTML (a server-rendered embed) that was
  // faster than this script is adopted all the same.
  var readies = new WeakMap(), loaded = new WeakSet();
  root.addEventListener('message', function (e) {
    if (e.data && e.data.type === 'meshes:ready' && e.source) readies.set(e.source, e.origin);
  });
  doc.addEventListener('load', function (e) { if (e.target.tagName === 'IFRAME') loaded.add(e.target); }, true);

  var live = []; // the mounts of this tab
  var channel = root.BroadcastChannel ? new BroadcastChannel('meshes-embed') : null;
  var local = /^(localhost|127\.0\.0\.1|\[::1\])$/;
  // Every option; the last four are the session hints sent with a mint.
  var OPTIONS = ['basePath', 'minHeight', 'maxHeight', 'timeout', 'retries', 'title', 'sessionId',
    'embedOrigin', 'loading', 'launchPage', 'sessionType', 'resourceType', 'resourceId'];
  // A mount path: "" or "/a/b", no "." or ".." segment, nothing a URL would reinterpret.
  var MOUNT = /^(\/(?!\.\.?(\/|$))[\w.~!$&'()*+,;=:@%-]+)*$/;
  // The mount (`home`): where the library served this script, from the script's own URL, read now
  // (markup can never choose it). The getter is Document's own, so an injected
  // <img name="currentScript"> cannot stand in for the script; `src` is resolved against the
  // page's address, since a <base> injected after the script would move `el.src`.
  var me, home = (function () {
    try {
      var el = me = Object.getOwnPropertyDescriptor(Document.prototype, 'currentScript').get.call(doc);
      var u = el instanceof HTMLScriptElement && new URL(el.getAttribute('src'), location.href);
      var m = u && u.origin === location.origin && /^(.*)\/embed\.js$/.exec(u.pathname);
      return m && MOUNT.test(m[1]) ? m[1] : null;
    } catch (e) { return null; }
  })();
  var waiting = []; // <meshes-embed> elements connected before the mount was known

  function snake(k, sep) { return k.replace(/[A-Z]/g, sep + '$&').toLowerCase(); }

  // Dispatches `meshes:<type>` on `el`, bubbling and cancelable; false when a listener called
  // preventDefault(). Details never hold a token or a launch URL.
  function fire(el, type, detail) {
    return el.dispatchEvent(new CustomEvent('meshes:' + type, { bubbles: true, cancelable: true, detail: detail || {} }));
  }

  // A number in [min, max], or the default.
  function num(v, def, min, max) {
    v = v == null || v === '' ? NaN : Number(v);
    return isFinite(v) && v >= min ? Math.min(v, max) : def;
  }

  // An absolute URL of this origin and mount: `/sessions`, `/sessions/{id}`,
  // `/sessions/{id}/refresh` or `/sessions/{id}/token` below it, or null. Built from
  // location.origin, so <base> does not count; checked again as a whole before any fetch.
  function endpoint(id, tail) {
    var u = location.origin + home + '/sessions' + (id ? '/' + id + (tail || '') : '');
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
    var timer = null, failures = 0, note = null, t0 = performance.now();
    var loading = own ? [].filter.call(target.children, function (el) { return !/^(SCRIPT|IFRAME)$/.test(el.tagName); }) : [];
    var self;

    OPTIONS.slice(9).forEach(function (k) {
      if (typeof o[k] === 'string' && o[k]) hints[snake(k, '_')] = o[k];
    });

    function error(err, retrying) {
      var d = { status: err.status || 0, code: err.code || (err.status ? 'http_error' : 'network_error'),
                message: err.message, retrying: retrying };
      if (fire(target, 'error', d) && !retrying) show(d.message);
      if (!retrying && root.console) console.error('meshes:', d.message);
    }

    // The host's own markup in the container (a spinner, a skeleton) is shown until the iframe
    // is authenticated, then the iframe; on a final error the markup comes back with the
    // error's text, unless a `meshes:error` listener called preventDefault().
    function show(text) {
      if (!loading.length) return;
      if (frame) frame.hidden = text !== true;
      loading.forEach(function (el) { el.hidden = text === true; });
      if (text !== true) {
        if (!note) target.appendChild(note = doc.createElement('p')).setAttribute('data-meshes-error', '');
        note.textContent = text;
      } else if (note) { note.remove(); note = null; }
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

    // A server-rendered embed: the iframe is in the page with its launch URL, and only its
    // session id and origin are in the markup. The token is asked for at once (overlapping the
    // iframe's load) for that origin, which the server checks is an embed origin, and goes
    // only to an iframe on it; anything else, or a session that is gone, mints afresh.
    function adopt() {
      var id = o.sessionId, origin = o.embedOrigin, u = launchUrl(origin);
      var token = base && u && u.origin === origin && endpoint(id, '/token')
        ? api(endpoint(id, '/token'), 'POST', { origin: origin }) : Promise.reject({ status: 404 });
      token.catch(function () {}); // handled in take(), or not needed when the iframe is not adopted
      (doc.readyState === 'loading' ? new Promise(function (r) { doc.addEventListener('DOMContentLoaded', r); })
        : Promise.resolve()).then(function () {
        if (!alive) return;
        var f = target.querySelector(':scope > iframe'), src = f && launchUrl(f.getAttribute('src'));
        if (!f) target.appendChild(f = doc.createElement('iframe'));
        setup(f);
        if (!src || src.origin !== origin) return mint();
        expectLoad = !loaded.has(f);
        take(token);
      });
      function take(t) {
        t.then(function (m) {
          if (!alive) return;
          failures = 0;
          s = { id: id, token: m.access_token, generation: m.generation, origin: origin };
          fire(target, 'mounted', { sessionId: id });
          if (readies.get(frame.contentWindow) === origin) ready();
        }, function (e) {
          if (!alive) return;
          if (e.status === 404 || e.status === 410 || e.status === 422) mint();
          else retry(function () { take(api(endpoint(id, '/token'), 'POST', { origin: origin })); }, e);
        });
      }
    }

    function ready() {
      var now = performance.now();
      auth();
      show(true);
      fire(target, 'authenticated', { sessionId: s.id, sinceMount: Math.round(now - t0), sinceNavigation: Math.round(now) });
    }

    function refresh() {
      if (!s) return null;
      if (refreshing) return refreshing;
      var id = s.id;
      refreshing = api(endpoint(id, '/refresh'), 'POST', { generation: s.generation }).then(function (t) {
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
        case 'meshes:ready': ready(); break;
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
      clearTimeout(timer);
      if (!frame) return; // an adoption still waiting for the page to be parsed
      frame.removeEventListener('load', onLoad);
      if (own && frame.parentNode) frame.parentNode.removeChild(frame);
      else frame.src = 'about:blank';
    }

    function setup(f) {
      frame = f;
      if (own) {
        frame.title = frame.title || o.title || 'Meshes workspace';
        frame.style.width = '100%';
        frame.style.border = '0';
      }
      frame.style.height = minHeight + 'px';
      frame.addEventListener('load', onLoad);
      if (loading.length) frame.hidden = true;
    }

    root.addEventListener('message', onMessage);

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
    if (own && o.sessionId) adopt();
    else {
      setup(frame || target.appendChild(doc.createElement('iframe')));
      // Lazy: a launch URL expires, so mint only when the container nears the viewport.
      var lazy = o.loading === 'lazy' && root.IntersectionObserver && new IntersectionObserver(function (es) {
        if (es.some(function (e) { return e.isIntersecting; })) { lazy.disconnect(); mint(); }
      }, { rootMargin: '200px' });
      if (lazy) lazy.observe(target); else mint();
    }
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

  // <div data-meshes-embed data-launch-page="rules"></div> mounts itself; a container around
  // this script (a server-rendered embed) at once.
  var box = me && me.parentElement;
  if (home != null && box && box.hasAttribute('data-meshes-embed')) box.meshesEmbed = mount(box, fromAttributes(box, 'data-'));
  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', auto);
  else auto();
})(window, document);

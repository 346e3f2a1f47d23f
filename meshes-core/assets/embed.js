/*! meshes-rs embed.js: the host side of the Meshes iframe contract. MIT OR Apache-2.0. */
(function (root, doc) {
  'use strict';
  // Loaded twice: the first copy serves the page. A symbol, not `root.MeshesEmbed`, which an
  // injected <img name="MeshesEmbed"> would answer.
  var LOADED = Symbol.for('meshes-rs.embed');
  if (root[LOADED]) return;
  root[LOADED] = true;

  // What it calls on `document`, from the prototypes, captured now: a named element
  // (<form name="addEventListener">, <img name="readyState">, <embed name="createElement">)
  // shadows document's own members, never these.
  var D = Document.prototype, T = EventTarget.prototype;
  function getter(name) { return Object.getOwnPropertyDescriptor(D, name).get; }
  var addListener = T.addEventListener, removeListener = T.removeEventListener, dispatch = T.dispatchEvent;
  var createElement = D.createElement, querySelectorAll = D.querySelectorAll;
  var readyState = getter('readyState'), visibilityState = getter('visibilityState');
  function on(target, type, fn, capture) { addListener.call(target, type, fn, capture); }
  function loading() { return readyState.call(doc) === 'loading'; }
  function iframe() { return createElement.call(doc, 'iframe'); }

  // From the first line: which windows said `meshes:ready` (and from which origin) and which
  // iframes loaded, so that an iframe in the page's HTML (a server-rendered embed) that was
  // faster than this script is adopted all the same.
  var readies = new WeakMap(), loaded = new WeakSet();
  on(root, 'message', function (e) {
    if (e.data && e.data.type === 'meshes:ready' && e.source) readies.set(e.source, e.origin);
  });
  on(doc, 'load', function (e) { if (e.target.tagName === 'IFRAME') loaded.add(e.target); }, true);

  var live = []; // the mounts of this tab
  // Embeds that markup mounts ([data-meshes-embed], <meshes-embed>) at once, at most; trusted
  // code raises it with MeshesEmbed.configure({ maxEmbeds }). Injected containers past it
  // mint nothing.
  var cap = 8;
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
      var el = me = getter('currentScript').call(doc);
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
    return dispatch.call(el, new CustomEvent('meshes:' + type, { bubbles: true, cancelable: true, detail: detail || {} }));
  }

  // `meshes:error` on an element that gets no embed.
  var refused = new WeakSet();
  function refuse(el, code, message) {
    fire(el, 'error', { status: 0, code: code, message: message, retrying: false });
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

  // Mounts a Meshes workspace into `target`, a container: the workspace goes only into an
  // iframe this script creates there, or the iframe the server rendered in it (adopted).
  // Options: see embed.d.ts. Returns { unmount(), destroy(), remount() }.
  function mount(target, options, auto) {
    var o = options || {};
    if (target.tagName === 'IFRAME') {
      // An <iframe data-meshes-embed> in the markup would show the workspace in an element
      // the page chose and styled (UI redress): never.
      refuse(target, 'invalid_target', 'an embed mounts into a container, not an iframe');
      throw new Error('meshes: mount into a container element, not an iframe');
    }
    // basePath may only name the mount itself (trailing slash aside).
    var base = home != null && (o.basePath == null || o.basePath === home || o.basePath === home + '/');
    var minHeight = num(o.minHeight, 480, 0, Infinity), maxHeight = num(o.maxHeight, Infinity, minHeight, Infinity);
    var timeout = num(o.timeout, 15000, 1000, 60000), retries = num(o.retries, 6, 0, 10);
    var hints = {};
    var frame = null;
    var s = null; // { id, token, generation, origin }: memory only
    var refreshing = null, expectLoad = false, alive = true, stalled = null;
    var timer = null, failures = 0, note = null, t0 = performance.now();
    var placeholders = [].filter.call(target.children, function (el) { return !/^(SCRIPT|IFRAME)$/.test(el.tagName); });
    var self;

    OPTIONS.slice(9).forEach(function (k) {
      if (typeof o[k] === 'string' && o[k]) hints[snake(k, '_')] = o[k];
    });

    function error(err, retrying) {
      var d = { status: err.status || 0, code: err.code || (err.status ? 'http_error' : 'network_error'),
                message: err.message, retrying: retrying };
      // The server's id of the failed request (its log lines show it), for a support report.
      if (typeof err.requestId === 'string' && /^[0-9a-f]{32}$/.test(err.requestId)) d.requestId = err.requestId;
      if (fire(target, 'error', d) && !retrying) show(d.message);
      if (!retrying && root.console) console.error('meshes:', d.message);
    }

    // The host's own markup in the container (a spinner, a skeleton) is shown until the iframe
    // is authenticated, then the iframe; on a final error only the error's text, unless a
    // `meshes:error` listener called preventDefault() (the host shows it).
    function show(text) {
      if (!placeholders.length) return;
      if (frame) frame.hidden = text !== true;
      placeholders.forEach(function (el) { el.hidden = true; });
      if (text !== true) {
        if (!note) target.appendChild(note = createElement.call(doc, 'p')).setAttribute('data-meshes-error', '');
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
                  retryAfter: Number(r.headers.get('Retry-After')) || 0, requestId: j.request_id };
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
      (loading() ? new Promise(function (r) { on(doc, 'DOMContentLoaded', r); })
        : Promise.resolve()).then(function () {
        if (!alive) return;
        var f = target.querySelector(':scope > iframe'), src = f && launchUrl(f.getAttribute('src'));
        if (!f) target.appendChild(f = iframe());
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

    // The iframe's navigate message: its `page` (a name) and `path` (a path of the embed,
    // never a URL: no scheme, no `//`), as strings, and nothing else.
    function navigation(d) {
      var out = {}, page = d.page, path = d.path;
      if (typeof page === 'string' && /^[\w.-]{1,64}$/.test(page)) out.page = page;
      if (typeof path === 'string' && path.length <= 512 && /^\/(?![\/\\])[^\s\\]*$/.test(path)) out.path = path;
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
      removeListener.call(root, 'message', onMessage);
      clearTimeout(timer);
      if (!frame) return; // an adoption still waiting for the page to be parsed
      removeListener.call(frame, 'load', onLoad);
      if (frame.parentNode) frame.parentNode.removeChild(frame);
    }

    function setup(f) {
      frame = f;
      frame.title = frame.title || o.title || 'Meshes workspace';
      frame.style.width = '100%';
      frame.style.border = '0';
      frame.style.height = minHeight + 'px';
      on(frame, 'load', onLoad);
      if (placeholders.length) frame.hidden = true;
    }

    on(root, 'message', onMessage);

    self = {
      // Counts against the markup's cap: mounted from markup, and able to mint.
      auto: !!auto && base,
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
    if (o.sessionId) adopt();
    else {
      setup(target.appendChild(iframe()));
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
    if (visibilityState.call(doc) !== 'hidden') live.forEach(function (m) { m.resume(); });
  }
  on(doc, 'visibilitychange', resumeAll);
  on(root, 'online', resumeAll);

  // Options from an element's attributes: `data-base-path` … or, on <meshes-embed>, `base-path` ….
  function fromAttributes(el, prefix) {
    var o = {};
    OPTIONS.forEach(function (k) {
      var v = el.getAttribute(prefix + snake(k, '-'));
      if (v != null) o[k] = v;
    });
    return o;
  }

  // Mounts an element of the markup, within the page's cap; past it the element gets
  // `meshes:error` (`too_many_embeds`) and mints nothing.
  function fromMarkup(el, prefix) {
    if (el.meshesEmbed || refused.has(el)) return;
    refused.add(el); // one answer per element
    if (el.tagName === 'IFRAME') return refuse(el, 'invalid_target', 'an embed mounts into a container, not an iframe');
    if (live.filter(function (m) { return m.auto; }).length >= cap) {
      return refuse(el, 'too_many_embeds', 'more than ' + cap + ' embeds in the page (MeshesEmbed.configure({ maxEmbeds }) raises it)');
    }
    refused.delete(el);
    el.meshesEmbed = mount(el, fromAttributes(el, prefix), true);
  }

  function auto() {
    if (home == null) return;
    var els = querySelectorAll.call(doc, '[data-meshes-embed]');
    for (var i = 0; i < els.length; i++) fromMarkup(els[i], 'data-');
    waiting.splice(0).forEach(function (el) { if (el.isConnected) el.connectedCallback(); });
  }

  root.MeshesEmbed = {
    mount: mount,
    logout: function () { logout(true); },
    // Trusted JavaScript only. `mount`: for a bundled copy (not served by the library), where
    // the routes are mounted (a copy served from `<mount>/embed.js` knows it already).
    // `maxEmbeds`: how many embeds the markup may mount at once (default 8).
    configure: function (c) {
      c = c || {};
      if (c.maxEmbeds != null) {
        var n = Number(c.maxEmbeds);
        if (!(n >= 0 && n <= 100 && Math.floor(n) === n)) throw new Error('meshes: maxEmbeds must be a whole number from 0 to 100');
        cap = n;
      }
      if (c.mount != null) {
        var m = typeof c.mount === 'string' ? c.mount.replace(/\/$/, '') : null;
        if (m == null || !MOUNT.test(m) || (home != null && m !== home)) {
          throw new Error('meshes: invalid or conflicting mount');
        }
        home = m;
      }
      auto();
    }
  };

  // A container around this script (a server-rendered embed) mounts at once, before any
  // other embed of the markup can take a place under the cap.
  var box = me && me.parentElement;
  if (home != null && box && box.hasAttribute('data-meshes-embed')) fromMarkup(box, 'data-');

  // <meshes-embed launch-page="rules"></meshes-embed>
  if (root.customElements && !customElements.get('meshes-embed')) {
    customElements.define('meshes-embed', class extends HTMLElement {
      connectedCallback() {
        if (!this.style.display) this.style.display = 'block';
        if (home == null) waiting.push(this);
        else fromMarkup(this, '');
      }
      disconnectedCallback() {
        if (this.meshesEmbed) this.meshesEmbed.unmount();
        this.meshesEmbed = null;
      }
    });
  }

  // <div data-meshes-embed data-launch-page="rules"></div> mounts itself.
  if (loading()) on(doc, 'DOMContentLoaded', auto);
  else auto();
})(window, document);

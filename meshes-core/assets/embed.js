/*! meshes-rs embed.js: the host side of the Meshes iframe contract. MIT OR Apache-2.0. */
(function (root) {
  'use strict';

  // Mounts a Meshes workspace into `target` (a container element, or an existing <iframe>).
  // Options: basePath ('/meshes'), minHeight (480), maxHeight, title, onError(err),
  // onEvent(type, data). Returns { unmount(), destroy(), remount() }.
  function mount(target, options) {
    var o = options || {};
    var base = (o.basePath || '/meshes').replace(/\/$/, '');
    var minHeight = o.minHeight == null ? 480 : o.minHeight;
    var frame = target.tagName === 'IFRAME' ? target : null;
    var own = !frame;
    var s = null; // { id, token, generation, origin }: memory only
    var refreshing = null, expectLoad = false, alive = true;
    var timer = null, failures = 0, mints = [];

    if (own) {
      frame = document.createElement('iframe');
      frame.title = o.title || 'Meshes workspace';
      frame.style.width = '100%';
      frame.style.border = '0';
      target.appendChild(frame);
    }
    frame.style.height = minHeight + 'px';

    function emit(type, data) { if (o.onEvent) o.onEvent(type, data); }
    function fail(err) { if (o.onError) o.onError(err); else if (root.console) console.error('meshes:', err.message); }

    function api(path, method, body) {
      return fetch(base + path, {
        method: method, credentials: 'same-origin', cache: 'no-store',
        headers: body ? { 'Content-Type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined
      }).then(function (r) {
        return r.status === 204 ? null : r.json().catch(function () { return {}; }).then(function (j) {
          if (r.ok) return j;
          var e = new Error(j.message || ('HTTP ' + r.status));
          e.status = r.status; e.code = j.error;
          e.retryAfter = Number(r.headers.get('Retry-After')) || 0;
          throw e;
        });
      });
    }

    // Waits longer after each failure (1 s, 2 s, 4 s … 30 s), at least as long as the
    // server's Retry-After, and gives up after 6.
    function retry(fn, err) {
      failures++;
      if (failures > 6 || err.status === 401) { fail(err); return; }
      clearTimeout(timer);
      var wait = Math.min(30000, 1000 * Math.pow(2, failures - 1));
      timer = setTimeout(fn, Math.max(wait, 1000 * (err.retryAfter || 0)));
    }

    function post(msg) {
      if (s && frame.contentWindow) frame.contentWindow.postMessage(msg, s.origin);
    }

    function auth() { post({ type: 'meshes:auth', token: s.token }); }

    // A launch URL serves one load: every (re)mount mints a new session.
    function mint() {
      if (!alive) return;
      var now = Date.now();
      mints = mints.filter(function (t) { return now - t < 60000; });
      if (mints.length >= 5) { retry(mint, new Error('too many remounts')); return; }
      mints.push(now);
      refreshing = null;
      api('/sessions', 'POST').then(function (m) {
        if (!alive) return;
        failures = 0;
        s = { id: m.session_id, token: m.access_token, generation: m.generation,
              origin: new URL(m.launch_url).origin };
        expectLoad = true;
        frame.src = m.launch_url;
        emit('mounted', { sessionId: s.id });
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
        emit('refreshed', { generation: t.generation });
      }, function (e) {
        refreshing = null;
        if (!alive) return;
        if (e.status === 410 || e.status === 404) mint();
        else retry(refresh, e);
      });
      return refreshing;
    }

    function onMessage(e) {
      if (!s || e.source !== frame.contentWindow || e.origin !== s.origin) return;
      var d = e.data || {};
      switch (d.type) {
        case 'meshes:ready': auth(); break;
        case 'meshes:token-refresh': refresh(); break;
        case 'meshes:token-expired': emit('expired'); mint(); break;
        case 'meshes:resize':
          var h = Number(d.height);
          if (isFinite(h)) {
            h = Math.max(minHeight, h);
            if (o.maxHeight) h = Math.min(o.maxHeight, h);
            frame.style.height = Math.ceil(h) + 'px';
          }
          break;
        default: emit(d.type, d);
      }
    }

    // Any load we did not start is a reload or navigation of the iframe: remount.
    function onLoad() {
      if (expectLoad) { expectLoad = false; return; }
      if (alive && s) mint();
    }

    function unmount() {
      alive = false;
      root.removeEventListener('message', onMessage);
      frame.removeEventListener('load', onLoad);
      clearTimeout(timer);
      if (own && frame.parentNode) frame.parentNode.removeChild(frame);
      else frame.src = 'about:blank';
    }

    root.addEventListener('message', onMessage);
    frame.addEventListener('load', onLoad);
    mint();

    return {
      unmount: unmount,
      // Unmounts and revokes the session on the backend.
      destroy: function () {
        var id = s && s.id;
        unmount();
        s = null;
        if (id) return api('/sessions/' + encodeURIComponent(id), 'DELETE').catch(function () {});
      },
      remount: function () { if (alive) mint(); }
    };
  }

  root.MeshesEmbed = { mount: mount };

  // <div data-meshes-embed data-base-path="/meshes" data-min-height="480"></div> mounts itself.
  function auto() {
    var els = document.querySelectorAll('[data-meshes-embed]');
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      el.meshesEmbed = mount(el, {
        basePath: el.getAttribute('data-base-path') || undefined,
        minHeight: el.hasAttribute('data-min-height') ? Number(el.getAttribute('data-min-height')) : undefined
      });
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', auto);
  else auto();
})(window);

//! [`EmbedHtml`]: the markup of a server-rendered embed, which `embed.js` adopts.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use super::ScriptTag;
use crate::model::{LaunchUrl, SessionId};

/// The HTML of an embed, for a page rendered on the server (`Display` writes it, escaped).
///
/// With a session minted while the page was rendered (the adapters' `MeshesSession`
/// extractor and [`MintedSession::embed`](crate::session::MintedSession::embed)), the iframe is in the HTML with the launch URL as its `src`: it starts loading
/// while the page is parsed, and `embed.js` **adopts** it instead of minting. The markup holds
/// the session id and the embed origin, **never the access token**: `embed.js` fetches the
/// token through the mount's `POST /sessions/{id}/token` (owner-checked, same-site, no Meshes
/// call, and only for an iframe on an allowed embed origin), starting as soon as the script
/// runs, answers the iframe's `meshes:ready` with it, then refreshes, resizes and fires events
/// exactly as for the embeds it mints. The script tag comes before the iframe, so the script
/// listens before the iframe can say `meshes:ready`. If the session is gone by then (a slow
/// page, a launch URL already used), `embed.js` mints a fresh one.
///
/// Without a session ([`EmbedHtml::new`] alone, e.g. when the extractor's mint was refused)
/// it is a plain `data-meshes-embed` container, and `embed.js` mints when allowed (with its
/// `Retry-After` handling).
///
/// The response must not be cached (it carries a launch URL, which opens the user's
/// workspace once): the adapters' layers send a page response with `Cache-Control: no-store`
/// whenever a session was minted while it was handled, by the extractor or the handler's own
/// [`EmbedSessions::mint`](crate::session::EmbedSessions::mint). Outside those layers (a
/// response built elsewhere), send `no-store` yourself. A reload mints a fresh session, as
/// Meshes requires.
///
/// The script tag it writes carries the `integrity` of the served script and, with
/// [`nonce`](Self::nonce), the page's CSP nonce (see [`ScriptTag`]).
///
/// ```
/// use meshes_core::embed_js::EmbedHtml;
///
/// // No session: embed.js mints in the browser.
/// let html = EmbedHtml::new("/meshes").title("Reports <2026>").class("panel").to_string();
/// assert!(html.starts_with("<div data-meshes-embed data-title=\"Reports &lt;2026&gt;\" class=\"panel\">"));
/// assert!(html.contains(&meshes_core::embed_js::ScriptTag::new("/meshes").blocking().to_string()));
/// // Under a strict CSP, with the page's nonce:
/// let html = EmbedHtml::new("/meshes").nonce("r4nd0m").to_string();
/// assert!(html.contains(" nonce=\"r4nd0m\"></script>"));
/// assert!(!html.contains("<iframe"));
/// ```
///
/// With a session (here from meshes-mock), the iframe is in the markup and the token is not:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use meshes_core::ExposeSecret as _;
/// use meshes_core::embed_js::EmbedHtml;
/// use meshes_core::store::UserKey;
///
/// let mock = meshes_mock::MockMeshes::start().await?;
/// let manager = mock.manager_builder().build();
/// let session = manager.mint(&UserKey::new("alice"), &Default::default()).await?;
/// let markup = session.embed("/meshes"); // EmbedHtml::new("/meshes").session(…)
/// let html = markup.to_string();
/// assert!(html.contains(&format!("data-session-id=\"{}\"", session.session_id)));
/// assert!(html.contains(&format!("<iframe src=\"{}\"", session.launch_url.expose_secret())));
/// assert!(!html.contains(session.access_token.expose_secret()));
/// // Its `Debug` (for logs) shows no launch URL.
/// assert!(!format!("{markup:?}").contains(session.launch_url.expose_secret()));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct EmbedHtml<'a> {
    mount: Cow<'a, str>,
    session: Option<(&'a SessionId, &'a LaunchUrl)>,
    id: Option<Cow<'a, str>>,
    title: Option<Cow<'a, str>>,
    class: Option<Cow<'a, str>>,
    min_height: Option<u32>,
    hints: [Option<Cow<'a, str>>; 4],
    loading: Option<Cow<'a, str>>,
    lazy: bool,
    nonce: Option<Cow<'a, str>>,
}

/// The `data-` attributes of the launch page hints, in `hints` order.
const HINTS: [&str; 4] = [
    "data-launch-page",
    "data-session-type",
    "data-resource-type",
    "data-resource-id",
];

impl<'a> EmbedHtml<'a> {
    /// An embed whose `embed.js` is served under `mount` (where the app mounted the routes,
    /// e.g. `"/meshes"`).
    ///
    /// # Panics
    ///
    /// When `mount` is not a mount path (`""` or `/a/b`: no `.` or `..` segment, nothing a
    /// URL would reinterpret), which `embed.js` would refuse.
    pub fn new(mount: impl Into<Cow<'a, str>>) -> Self {
        let mount = mount.into();
        assert!(
            is_mount(&mount),
            "EmbedHtml: {mount:?} is not a mount path (\"/meshes\", \"/a/b\")"
        );
        Self {
            mount,
            session: None,
            id: None,
            title: None,
            class: None,
            min_height: None,
            hints: Default::default(),
            loading: None,
            lazy: false,
            nonce: None,
        }
    }

    /// The page's CSP nonce, for its script tag under a strict policy (`script-src
    /// 'nonce-…' 'strict-dynamic'`); see [`ScriptTag`].
    pub fn nonce(mut self, nonce: impl Into<Cow<'a, str>>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Renders the iframe of this session (minted for this page: its id and launch URL), for
    /// `embed.js` to adopt.
    pub fn session(mut self, id: &'a SessionId, launch_url: &'a LaunchUrl) -> Self {
        self.session = Some((id, launch_url));
        self
    }

    /// The iframe's `title` (default "Meshes workspace"), for screen readers.
    pub fn title(mut self, title: impl Into<Cow<'a, str>>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The container's `id` (where `meshes:*` events are dispatched).
    pub fn id(mut self, id: impl Into<Cow<'a, str>>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The container's `class`.
    pub fn class(mut self, class: impl Into<Cow<'a, str>>) -> Self {
        self.class = Some(class.into());
        self
    }

    /// The iframe's height before the workspace reports its own (default 480 px, as
    /// `embed.js`).
    pub fn min_height(mut self, px: u32) -> Self {
        self.min_height = Some(px);
        self
    }

    /// The host's own loading markup (a spinner, a skeleton), **written as is** (it is your
    /// HTML, never the user's): shown until the iframe is authenticated, then hidden (the
    /// iframe is hidden until then); on a final error only the error's text shows, in its
    /// place, unless a `meshes:error` listener calls `preventDefault()`.
    ///
    /// ```
    /// use meshes_core::embed_js::EmbedHtml;
    ///
    /// let html = EmbedHtml::new("/meshes").loading_html("<p class=\"spinner\">Loading…</p>").to_string();
    /// assert!(html.contains("><p class=\"spinner\">Loading…</p><script src="));
    /// ```
    pub fn loading_html(mut self, html: impl Into<Cow<'a, str>>) -> Self {
        self.loading = Some(html.into());
        self
    }

    /// Without a session: mint only when the container nears the viewport
    /// (`data-loading="lazy"`; launch URLs expire, so a hidden embed should not mint early).
    pub fn lazy(mut self) -> Self {
        self.lazy = true;
        self
    }

    /// The launch page of a session `embed.js` mints (when there is none, or it is gone).
    pub fn launch_page(mut self, page: impl Into<Cow<'a, str>>) -> Self {
        self.hints[0] = Some(page.into());
        self
    }

    /// The session type of a session `embed.js` mints.
    pub fn session_type(mut self, kind: impl Into<Cow<'a, str>>) -> Self {
        self.hints[1] = Some(kind.into());
        self
    }

    /// The resource of a session `embed.js` mints.
    pub fn resource(
        mut self,
        resource_type: impl Into<Cow<'a, str>>,
        resource_id: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.hints[2] = Some(resource_type.into());
        self.hints[3] = Some(resource_id.into());
        self
    }
}

impl fmt::Display for EmbedHtml<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<div data-meshes-embed")
            .and_then(|()| attr(f, "id", self.id.as_deref()))
            .and_then(|()| attr(f, "data-title", self.title.as_deref()))
            .and_then(|()| attr(f, "class", self.class.as_deref()))?;
        let height = self.min_height.map(|h| h.to_string());
        attr(f, "data-min-height", height.as_deref())?;
        for (name, value) in HINTS.iter().zip(&self.hints) {
            attr(f, name, value.as_deref())?;
        }
        match self.session {
            Some((id, url)) => {
                attr(f, "data-session-id", Some(id.as_str()))?;
                attr(f, "data-embed-origin", Some(url.origin()))?;
            }
            None if self.lazy => attr(f, "data-loading", Some("lazy"))?,
            None => {}
        }
        f.write_char('>')?;
        if let Some(html) = &self.loading {
            f.write_str(html)?;
        }
        // Before the iframe: the script listens before the iframe can say `meshes:ready`.
        let mut tag = ScriptTag::new(self.mount.as_ref()).blocking();
        if let Some(nonce) = &self.nonce {
            tag = tag.nonce(nonce.as_ref());
        }
        write!(f, "{tag}")?;
        if let Some((_, url)) = self.session {
            f.write_str("<iframe")?;
            attr(f, "src", Some(url.expose_secret()))?;
            let title = self.title.as_deref().unwrap_or("Meshes workspace");
            attr(f, "title", Some(title))?;
            // Presentational attributes: a strict CSP (no 'unsafe-inline' styles) would refuse
            // a `style` attribute; embed.js sizes the iframe from here on, as its own.
            let height = self.min_height.unwrap_or(480).to_string();
            attr(f, "width", Some("100%"))?;
            attr(f, "height", Some(&height))?;
            attr(f, "frameborder", Some("0"))?;
            attr(f, "allow", Some("clipboard-write"))?;
            attr(f, "referrerpolicy", Some("strict-origin"))?;
            // Behind the host's loading markup until authenticated.
            f.write_str(if self.loading.is_some() {
                " hidden"
            } else {
                ""
            })?;
            f.write_str("></iframe>")?;
        }
        f.write_str("</div>")
    }
}

/// ` name="value"`, escaped, or nothing for `None`.
pub(super) fn attr(f: &mut fmt::Formatter<'_>, name: &str, value: Option<&str>) -> fmt::Result {
    let Some(value) = value else {
        return Ok(());
    };
    write!(f, " {name}=\"")?;
    for c in value.chars() {
        match c {
            '&' => f.write_str("&amp;")?,
            '"' => f.write_str("&quot;")?,
            '\'' => f.write_str("&#39;")?,
            '<' => f.write_str("&lt;")?,
            '>' => f.write_str("&gt;")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// `embed.js`'s rule for a mount: `""` or `/a/b`, no `.` or `..` segment, only characters a
/// URL path keeps as they are.
pub(super) fn is_mount(mount: &str) -> bool {
    let Some(rest) = mount.strip_prefix('/') else {
        return mount.is_empty();
    };
    rest.split('/').all(|seg| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.~!$&'()*+,;=:@%-".contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_follow_embed_js() {
        for ok in ["", "/meshes", "/a/b", "/a.b/c-d", "/x%20y"] {
            assert!(is_mount(ok), "{ok}");
        }
        for bad in [
            "meshes", "/", "/meshes/", "/a//b", "/..", "/a/./b", "/a b", "/a?b", "/a#b", "/\"x",
        ] {
            assert!(!is_mount(bad), "{bad}");
        }
    }

    #[test]
    #[should_panic(expected = "is not a mount path")]
    fn a_bad_mount_panics() {
        let _ = EmbedHtml::new("/meshes/../x");
    }

    #[test]
    fn every_value_is_escaped() {
        let html = EmbedHtml::new("/m")
            .title("\"><script>alert(1)</script>")
            .class("a' onload='x")
            .resource("r&d", "<id>")
            .min_height(300)
            .lazy()
            .to_string();
        assert_eq!(
            html,
            format!(
                "<div data-meshes-embed data-title=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\" \
                 class=\"a&#39; onload=&#39;x\" data-min-height=\"300\" data-resource-type=\"r&amp;d\" \
                 data-resource-id=\"&lt;id&gt;\" data-loading=\"lazy\"><script src=\"/m/embed.js?v={}\" integrity=\"{}\"></script></div>",
                super::super::version(),
                super::super::integrity()
            )
        );
    }
}

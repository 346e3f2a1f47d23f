//! [`ScriptTag`]: the `<script>` tag that loads `embed.js`, with its integrity and nonce.

use std::borrow::Cow;
use std::fmt;

use super::markup::{attr, is_mount};

/// The tag that loads `embed.js` from a mount, for pages whose embeds `embed.js` mints
/// (`<div data-meshes-embed>`, `<meshes-embed>`); [`EmbedHtml`](super::EmbedHtml) writes its
/// own. `Display` writes it, escaped:
///
/// - `src`: the versioned path ([`script_path`](super::script_path));
/// - `integrity`: the hash of the exact bytes the routes serve ([`integrity`](super::integrity)),
///   so a `<base href>` that user content put before the tag cannot make the page run another
///   origin's script (the browser fetches it, and refuses to run it);
/// - `nonce`: the page's CSP nonce, when given, for a strict policy (`script-src
///   'nonce-…' 'strict-dynamic'`: embed.js loads nothing else, so nothing else needs one);
/// - `defer` (the default; [`blocking`](Self::blocking) leaves it out).
///
/// ```
/// use meshes_core::embed_js::{self, ScriptTag};
///
/// let tag = ScriptTag::new("/meshes").nonce("r4nd0m").to_string();
/// assert_eq!(
///     tag,
///     format!(
///         "<script src=\"{}\" integrity=\"{}\" nonce=\"r4nd0m\" defer></script>",
///         embed_js::script_path("/meshes"),
///         embed_js::integrity()
///     )
/// );
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ScriptTag<'a> {
    mount: Cow<'a, str>,
    nonce: Option<Cow<'a, str>>,
    defer: bool,
}

impl<'a> ScriptTag<'a> {
    /// The tag of the `embed.js` served under `mount` (where the app mounted the routes, e.g.
    /// `"/meshes"`).
    ///
    /// # Panics
    ///
    /// When `mount` is not a mount path (`""` or `/a/b`: no `.` or `..` segment, nothing a
    /// URL would reinterpret), which `embed.js` would refuse.
    pub fn new(mount: impl Into<Cow<'a, str>>) -> Self {
        let mount = mount.into();
        assert!(
            is_mount(&mount),
            "embed.js: {mount:?} is not a mount path (\"/meshes\", \"/a/b\")"
        );
        Self {
            mount,
            nonce: None,
            defer: true,
        }
    }

    /// The page's CSP nonce (the value of its `'nonce-…'` source, drawn anew for each
    /// response).
    pub fn nonce(mut self, nonce: impl Into<Cow<'a, str>>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Without `defer`: the script runs where the tag stands (what
    /// [`EmbedHtml`](super::EmbedHtml) needs, before its iframe).
    pub fn blocking(mut self) -> Self {
        self.defer = false;
        self
    }
}

impl fmt::Display for ScriptTag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<script")?;
        attr(f, "src", Some(&super::script_path(&self.mount)))?;
        attr(f, "integrity", Some(super::integrity()))?;
        attr(f, "nonce", self.nonce.as_deref())?;
        if self.defer {
            f.write_str(" defer")?;
        }
        f.write_str("></script>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_and_escaped() {
        let tag = ScriptTag::new("/m").nonce("\"><x").blocking().to_string();
        assert_eq!(
            tag,
            format!(
                "<script src=\"/m/embed.js?v={}\" integrity=\"{}\" nonce=\"&quot;&gt;&lt;x\"></script>",
                super::super::version(),
                super::super::integrity()
            )
        );
    }

    #[test]
    #[should_panic(expected = "is not a mount path")]
    fn a_bad_mount_panics() {
        let _ = ScriptTag::new("/meshes?x");
    }
}

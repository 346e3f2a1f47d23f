//! Merging the embed origins into a response's Content-Security-Policy `frame-src`, without
//! ever taking away anything the host's policy allowed.
//!
//! The rules, for each policy in each `Content-Security-Policy` (and `-Report-Only`) header
//! (a header may carry several policies separated by `,`; every one is enforced):
//!
//! | the policy has | result |
//! |---|---|
//! | `frame-src` | the origins are appended (no duplicates); the rest is kept byte for byte |
//! | `frame-src 'none'` | the value becomes the origins (you installed this to embed Meshes) |
//! | no `frame-src`, but `child-src` | `frame-src` = `child-src`'s sources + the origins |
//! | neither, but `default-src` | `frame-src` = `default-src`'s sources + the origins |
//! | a fallback of `'none'` | `frame-src` = the origins only |
//! | nothing that restricts frames | unchanged (adding `frame-src` would restrict frames) |
//!
//! A response with no CSP at all is left alone by default ([`WhenAbsent::Leave`]): adding
//! `frame-src` there would block the page's other frames (payments, video, captcha). With
//! [`WhenAbsent::Set`] such a response gets `frame-src 'self' <origins>`. A response with
//! only a `Content-Security-Policy-Report-Only` policy gets the origins merged there and no
//! enforced policy either way.
//!
//! The origins come from an [`EmbedOrigins`] handle: the ones configured on the
//! [`EmbedSessions`](crate::session::EmbedSessions) builder plus every allowed origin seen in
//! a launch URL since (a launch URL on any other origin is refused before it reaches a page). The layers of meshes-axum and meshes-actix read the handle on every
//! response, so an origin learned on a mint is allowed on the next page.
//!
//! # Example
//!
//! ```
//! use meshes_core::csp::EmbedOrigins;
//!
//! let origins = EmbedOrigins::from(["https://embed.meshes.io"]);
//! assert_eq!(
//!     origins.merge("default-src 'self'; img-src *"),
//!     "default-src 'self'; img-src *; frame-src 'self' https://embed.meshes.io"
//! );
//! assert_eq!(
//!     origins.merge("frame-src 'self' https://embed.meshes.io"),
//!     "frame-src 'self' https://embed.meshes.io"
//! );
//! assert_eq!(origins.merge("img-src 'self'"), "img-src 'self'");
//! ```

use std::borrow::Cow;

pub(crate) mod merge;
pub(crate) mod origins;

/// The embed origin of meshes.io, allowed by a
/// [`EmbedSessions`](crate::session::EmbedSessions) configured with no other.
pub const DEFAULT_EMBED_ORIGIN: &str = "https://embed.meshes.io";

/// The launch URL origins an [`EmbedSessions`](crate::session::EmbedSessions) configured with
/// no embed origin accepts (each is added to `frame-src` when first seen): the hosts of
/// meshes.io.
pub(crate) const DEFAULT_LEARNABLE_ORIGINS: &str = "https://*.meshes.io";

pub use origins::EmbedOrigins;

/// What to do with a response that has no `Content-Security-Policy` header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhenAbsent {
    /// Leave the response without a CSP (default): a page that has none frames anything.
    #[default]
    Leave,
    /// Set `Content-Security-Policy: frame-src 'self' <origins>`: the page then frames only
    /// itself and the embed origins.
    Set,
}

/// One directive's position in a policy string.
struct Directive {
    name: String,
    /// Byte range of the whole trimmed directive (name and value).
    end: usize,
    /// The value's tokens.
    values: Vec<(usize, usize)>,
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

fn directives(policy: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut start = 0;
    for segment in policy.split(';') {
        let seg_start = start;
        start += segment.len() + 1;
        let mut tokens = Vec::new();
        let mut tok_start = None;
        for (i, c) in segment.char_indices() {
            match (is_ws(c), tok_start) {
                (true, Some(s)) => {
                    tokens.push((seg_start + s, seg_start + i));
                    tok_start = None;
                }
                (false, None) => tok_start = Some(i),
                _ => {}
            }
        }
        if let Some(s) = tok_start {
            tokens.push((seg_start + s, seg_start + segment.len()));
        }
        let Some(&(name_start, name_end)) = tokens.first() else {
            continue;
        };
        let end = tokens.last().map_or(name_end, |t| t.1);
        out.push(Directive {
            name: policy[name_start..name_end].to_ascii_lowercase(),
            end,
            values: tokens[1..].to_vec(),
        });
    }
    out
}

fn is_none(policy: &str, values: &[(usize, usize)]) -> bool {
    values.len() == 1 && policy[values[0].0..values[0].1].eq_ignore_ascii_case("'none'")
}

/// Merges `origins` into one policy (see the [module docs](self)).
pub(crate) fn merge_policy<'a>(policy: &'a str, origins: &[String]) -> Cow<'a, str> {
    let dirs = directives(policy);
    // Browsers use the first occurrence of a directive and ignore the rest.
    let find = |name: &str| dirs.iter().find(|d| d.name == name);
    if let Some(frame) = find("frame-src") {
        let value_of = |&(s, e): &(usize, usize)| &policy[s..e];
        if is_none(policy, &frame.values) {
            let (s, e) = frame.values[0];
            return Cow::Owned(format!(
                "{}{}{}",
                &policy[..s],
                origins.join(" "),
                &policy[e..]
            ));
        }
        let missing: Vec<&str> = origins
            .iter()
            .map(String::as_str)
            .filter(|o| {
                !frame
                    .values
                    .iter()
                    .any(|v| value_of(v).eq_ignore_ascii_case(o))
            })
            .collect();
        if missing.is_empty() {
            return Cow::Borrowed(policy);
        }
        let mut out = String::with_capacity(policy.len() + 64);
        out.push_str(&policy[..frame.end]);
        for o in missing {
            out.push(' ');
            out.push_str(o);
        }
        out.push_str(&policy[frame.end..]);
        return Cow::Owned(out);
    }
    let Some(fallback) = find("child-src").or_else(|| find("default-src")) else {
        return Cow::Borrowed(policy);
    };
    let mut sources: Vec<&str> = if is_none(policy, &fallback.values) {
        Vec::new()
    } else {
        fallback
            .values
            .iter()
            .map(|&(s, e)| &policy[s..e])
            .collect()
    };
    for o in origins {
        if !sources.iter().any(|s| s.eq_ignore_ascii_case(o)) {
            sources.push(o);
        }
    }
    let trimmed = policy.trim_end_matches(is_ws);
    let sep = if trimmed.ends_with(';') || trimmed.is_empty() {
        " "
    } else {
        "; "
    };
    Cow::Owned(format!("{trimmed}{sep}frame-src {}", sources.join(" ")))
}

/// Merges `origins` into every policy of a header value (policies are separated by `,`).
pub(crate) fn merge_policy_list<'a>(value: &'a str, origins: &[String]) -> Cow<'a, str> {
    if !value.contains(',') {
        return merge_policy(value, origins);
    }
    let parts: Vec<Cow<'_, str>> = value.split(',').map(|p| merge_policy(p, origins)).collect();
    if parts.iter().all(|p| matches!(p, Cow::Borrowed(_))) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(parts.join(","))
}

#[cfg(test)]
mod tests;

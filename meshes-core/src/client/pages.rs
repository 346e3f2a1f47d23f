//! Walking every page of a list.

use std::fmt;

use http::StatusCode;

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::model::{ListSessions, Page, SessionRecord};

/// Every page of `GET /api/v1/sessions`, following `next_cursor` until it is `null`.
///
/// Created by [`Client::session_pages`]. Pages are fetched one at a time, when asked for.
/// A cursor that does not advance ends the walk with [`ClientError::Unexpected`] rather than
/// looping forever.
///
/// ```no_run
/// # async fn run(client: meshes_core::Client, ws: meshes_core::Uuid) -> Result<(), meshes_core::ClientError> {
/// use meshes_core::model::{ListSessions, SessionStatus};
///
/// let mut pages = client.session_pages(ListSessions::new(ws).status(SessionStatus::Active));
/// while let Some(page) = pages.next_page().await {
///     for record in page?.records {
///         println!("{} expires {:?}", record.session_id, record.expires_at);
///     }
/// }
/// # Ok(()) }
/// ```
pub struct SessionPages {
    client: Client,
    query: ListSessions,
    done: bool,
}

impl SessionPages {
    pub(crate) fn new(client: Client, query: ListSessions) -> Self {
        Self {
            client,
            query,
            done: false,
        }
    }

    /// The next page, or `None` after the last one (or after an error).
    pub async fn next_page(&mut self) -> Option<Result<Page<SessionRecord>>> {
        if self.done {
            return None;
        }
        let page = match self.client.list_sessions(&self.query).await {
            Ok(page) => page,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        match page.next_cursor.as_deref().filter(|c| !c.is_empty()) {
            None => self.done = true,
            Some(next) if Some(next) == self.current_cursor() => {
                self.done = true;
                return Some(Err(ClientError::Unexpected {
                    status: StatusCode::OK,
                    reason: "next_cursor did not advance",
                }));
            }
            Some(next) => {
                let next = next.to_owned();
                self.query.set_cursor(Some(next));
            }
        }
        Some(Ok(page))
    }

    fn current_cursor(&self) -> Option<&str> {
        self.query.current_cursor()
    }

    /// Fetches every remaining page and returns all records.
    ///
    /// # Errors
    ///
    /// The first error of any page.
    pub async fn collect_all(mut self) -> Result<Vec<SessionRecord>> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await {
            all.extend(page?.records);
        }
        Ok(all)
    }
}

impl fmt::Debug for SessionPages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionPages")
            .field("query", &self.query)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

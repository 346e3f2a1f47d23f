//! Where a statement runs. On the store's own pool, single statements share a few
//! connections, so that tokio-postgres pipelines them (many statements in one write, their
//! answers in one read), as the Redis store multiplexes its commands: twice the loads per
//! second of a connection per statement (BENCHMARKS.md, #30). On an app's pool, each
//! statement takes a connection and gives it back (the store keeps none of the app's).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use deadpool_postgres::{Object, Pool, PoolError, Status};

/// How many connections single statements share, at most: on the load bench, 2 made the
/// refresh 0.44 of memory's, 4 made it 0.40 (smaller batches, more server processes awake).
const SHARED: usize = 2;

pub(super) struct Connections {
    pool: Pool,
    /// Connections taken from the pool and kept; one that closed is replaced from the pool
    /// on its next use (the pool drops the dead one once the last statement on it ends).
    /// Empty on an app's pool.
    shared: Vec<Slot>,
    next: AtomicUsize,
}

impl Connections {
    /// The store's own pool: statements share up to [`SHARED`] of its connections.
    pub(super) fn own(pool: Pool) -> Self {
        let n = SHARED.min(pool.status().max_size.saturating_sub(1)).max(1);
        Self {
            pool,
            shared: (0..n).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// An app's pool: a connection per statement, given back at once.
    pub(super) fn apps(pool: Pool) -> Self {
        Self {
            pool,
            shared: Vec::new(),
            next: AtomicUsize::new(0),
        }
    }

    /// A connection for one statement: a shared one (round robin) when there are any and
    /// `exclusive` is false, else one of the pool's to itself (a transaction, a long batch).
    pub(super) async fn get(&self, exclusive: bool) -> Result<Arc<Object>, PoolError> {
        if exclusive || self.shared.is_empty() {
            return self.pool.get().await.map(Arc::new);
        }
        let slot = &self.shared[self.next.fetch_add(1, Ordering::Relaxed) % self.shared.len()];
        if let Some(c) = slot.open() {
            return Ok(c);
        }
        // One task replaces it; the others wait for that one rather than open their own.
        let _replacing = slot.replacing.lock().await;
        if let Some(c) = slot.open() {
            return Ok(c);
        }
        // The dead one goes back to the pool, which drops it.
        drop(slot.lock().take());
        let c = Arc::new(self.pool.get().await?);
        *slot.lock() = Some(c.clone());
        Ok(c)
    }

    pub(super) fn status(&self) -> Status {
        self.pool.status()
    }
}

/// One shared connection, and who is replacing it.
#[derive(Default)]
struct Slot {
    connection: Mutex<Option<Arc<Object>>>,
    replacing: tokio::sync::Mutex<()>,
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Object>>> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection, while it is open.
    fn open(&self) -> Option<Arc<Object>> {
        self.lock().as_ref().filter(|c| !c.is_closed()).cloned()
    }
}

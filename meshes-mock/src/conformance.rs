//! The conformance kit for session stores (feature `conformance`): every scenario meshes-core's
//! own stores pass (memory, Redis on one node, a cluster, Sentinel and TLS), run on yours with
//! one macro call.
//!
//! A store is a [`meshes_core::store::EmbedStore`] (and, when several replicas
//! share it, a [`RefreshLease`](meshes_core::store::RefreshLease) and
//! [`SharedLimits`](meshes_core::store::SharedLimits)). The kit checks it at two levels:
//!
//! - **the store itself** (`store_*` tests): storage round trip, compare-and-set on the
//!   generation, the user index ordered by last use, exactly one winner among concurrent
//!   removes; for a shared store the lease (exclusive, renewed and released by its holder
//!   only, freed when its holder dies), the shared limits and the clock;
//! - **a manager on it**, against this crate's mock Meshes: single-flight refresh,
//!   ownership, generations, expiry, the per-user bound and limits, revocation, random
//!   interleavings of users; for a shared store, **two managers on one store** (two replicas):
//!   shared sessions and single flight across them, one limit for both, a lease holder that
//!   dies freed within seconds.
//!
//! # Running it on a store
//!
//! Describe how to get a handle on your store ([`StoreFactory`]), then call the macro in a
//! test file (`tests/conformance.rs`). It writes one `#[test]` per scenario, each on a fresh
//! factory and a fresh mock; a factory that answers `None` (say, its server is not installed)
//! skips. Add `meshes-mock = { version = "…", features = ["conformance"] }` to your
//! `[dev-dependencies]`.
//!
//! ```
//! use meshes_core::store::MemoryEmbedStore;
//! use meshes_mock::conformance::StoreFactory;
//!
//! /// The store under test: here, the memory store (each handle its own, not shared).
//! struct Memory;
//!
//! impl StoreFactory for Memory {
//!     type Store = MemoryEmbedStore;
//!     async fn store(&self) -> MemoryEmbedStore {
//!         MemoryEmbedStore::default()
//!     }
//!     fn shared(&self) -> bool {
//!         false
//!     }
//! }
//!
//! meshes_mock::store_conformance!(async { Some(Memory) });
//! # fn main() {}
//! ```
//!
//! A store shared by replicas answers `shared() == true`, and every handle it returns reaches
//! the same data (a new connection to the same database, under a namespace of this test's
//! own): the scenarios then make two managers, as two replicas would.

mod manager;
mod replicas;
mod store;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use meshes_core::model::SessionId;
use meshes_core::session::{
    EmbedSessions, EmbedSessionsBuilder, Grant, SessionError, SessionToken,
};
use meshes_core::store::{EmbedStore, Generation, UserKey};

use crate::{Endpoint, MockMeshes};

#[doc(hidden)]
pub use manager::*;
#[doc(hidden)]
pub use replicas::*;
#[doc(hidden)]
pub use store::*;

/// How the kit gets a handle on the store under test.
pub trait StoreFactory: Send + Sync + 'static {
    /// The store.
    type Store: EmbedStore;

    /// A handle on the store. When [`shared`](Self::shared), every handle reaches the same
    /// data, as the stores of several replicas do; each test starts with a fresh factory, so
    /// data does not leak from one test into another.
    fn store(&self) -> impl Future<Output = Self::Store> + Send;

    /// Whether handles share their data (a store for several replicas, which implements
    /// [`RefreshLease`](meshes_core::store::RefreshLease) and
    /// [`SharedLimits`](meshes_core::store::SharedLimits)): the lease, shared-limit and
    /// two-replica scenarios run only then.
    fn shared(&self) -> bool;
}

/// One scenario's world: a mock Meshes and the store under test. Scenarios of your own can
/// use it too.
#[derive(Debug)]
pub struct Kit<F> {
    /// The mock Meshes the managers call.
    pub mock: MockMeshes,
    factory: F,
}

impl<F: StoreFactory> Kit<F> {
    /// A kit on a fresh mock.
    ///
    /// # Panics
    ///
    /// When the mock cannot bind a loopback port.
    pub async fn new(factory: F) -> Self {
        Self {
            mock: MockMeshes::start()
                .await
                .expect("a mock Meshes on loopback"),
            factory,
        }
    }

    /// Whether the store is shared by replicas ([`StoreFactory::shared`]).
    pub fn shared(&self) -> bool {
        self.factory.shared()
    }

    /// A new handle on the store.
    pub async fn store(&self) -> F::Store {
        self.factory.store().await
    }

    /// A manager builder on a new handle on the store and on the mock, with no per-user
    /// limits, no refresh window and a generous bound, so that scenarios opt into those.
    pub async fn builder(&self) -> EmbedSessionsBuilder {
        self.builder_on(self.mock.client()).await
    }

    /// [`builder`](Self::builder) with a client of the scenario's own.
    pub async fn builder_on(&self, client: meshes_core::Client) -> EmbedSessionsBuilder {
        EmbedSessions::builder(client)
            .default_grant(Grant::new().workspace(self.mock.workspace_id()))
            .embed_origin(self.mock.embed_origin())
            .mint_rate(None)
            .rotation_rate(None)
            .refresh_window(Duration::ZERO)
            .max_sessions_per_user(1000)
            .lock_ttl(Duration::from_secs(5))
            .store(self.store().await)
    }

    /// A manager as [`builder`](Self::builder) makes it.
    pub async fn manager(&self) -> EmbedSessions {
        self.builder().await.build()
    }

    /// Starts `manager`'s refresh of `user`'s session `id` from generation 0 in a task of its
    /// own, and returns once the mock has the call (it is in flight at Meshes).
    pub async fn refresh_in_flight(
        &self,
        manager: &EmbedSessions,
        user: &UserKey,
        id: &SessionId,
    ) -> tokio::task::JoinHandle<Result<SessionToken, SessionError>> {
        let calls = self.mock.calls(Endpoint::Refresh);
        let (m, user, id) = (manager.clone(), user.clone(), id.clone());
        let task = tokio::spawn(async move { m.refresh(&user, &id, Some(Generation(0))).await });
        while self.mock.calls(Endpoint::Refresh) == calls {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        task
    }
}

fn user(name: &str) -> UserKey {
    UserKey::new(name)
}

/// Mints a session for `who`: its id and token.
async fn mint(manager: &EmbedSessions, who: &UserKey) -> (SessionId, String) {
    let m = manager.mint(who, &Grant::new()).await.unwrap();
    (
        m.session_id,
        meshes_core::ExposeSecret::expose_secret(&m.access_token).to_owned(),
    )
}

/// Runs one scenario on a fresh factory (skipped when `make` gives none) on a runtime of two
/// worker threads. What [`store_conformance!`](crate::store_conformance) expands to.
#[doc(hidden)]
pub fn run<F, M, S, SF>(make: M, scenario: S)
where
    F: StoreFactory,
    M: Future<Output = Option<F>>,
    S: FnOnce(Arc<Kit<F>>) -> SF,
    SF: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let Some(factory) = make.await else {
            return;
        };
        scenario(Arc::new(Kit::new(factory).await)).await;
    });
}

/// Runs `scenario` only on a shared store.
#[doc(hidden)]
pub async fn shared_only<F: StoreFactory, Fut: Future<Output = ()>>(
    kit: &Kit<F>,
    scenario: impl FnOnce() -> Fut,
) {
    if kit.shared() {
        scenario().await;
    }
}

/// Writes one `#[test]` per conformance scenario for the store that `$make` (an `async`
/// expression giving an `Option` of a [`StoreFactory`](crate::conformance::StoreFactory))
/// describes; see [the kit](crate::conformance). Call it once per module.
/// `store_conformance!(shared only: $make)` writes only the shared-store scenarios, for a
/// deployment variant (say, over TLS) of a store the whole kit already ran on.
#[macro_export]
macro_rules! store_conformance {
    // Only the scenarios of a shared store (the lease, shared limits, clock and two
    // replicas): for a deployment variant of a store the whole kit already ran on.
    (shared only: $make:expr) => {
        $crate::store_conformance!(@shared $make;
            store_lease_is_exclusive_and_its_holders,
            store_limits_are_one_budget,
            store_clock_is_close,
            share_sessions_and_single_flight,
            share_the_mint_limit_and_the_rotation_budget,
            share_the_app_budget,
            an_upstream_slower_than_the_lease_rotates_once,
            a_replica_dying_mid_refresh_frees_the_session_within_seconds,
        );
    };
    ($make:expr) => {
        $crate::store_conformance!(@each $make;
            store_round_trip,
            store_compare_and_set_on_the_generation,
            store_user_index_by_last_use,
            store_one_remove_winner,
            concurrent_refreshes_of_one_session_make_one_call,
            concurrent_refreshes_without_generation_make_one_call,
            refreshes_of_different_sessions_each_call_once,
            other_users_get_not_found_without_a_call,
            old_generation_gets_current_token_without_a_call,
            current_generation_within_the_window_is_refused_without_a_call,
            a_looping_client_is_bounded_per_session_and_per_user,
            no_generation_within_the_window_reuses_the_rotation,
            newer_generation_is_rejected,
            gone_after_upstream_expiry_or_revocation,
            gone_after_local_expiry_without_a_call,
            failed_refresh_leaves_the_entry_intact,
            live_session_bound_revokes_the_oldest,
            the_bound_spares_the_sessions_in_use,
            the_token_goes_to_the_sessions_own_origin_only,
            mint_rate_limit_answers_without_calling_meshes,
            revoke_and_revoke_user,
            concurrent_revokes_of_one_session_make_one_call,
            the_app_budget_bounds_every_call_to_meshes,
            an_open_breaker_costs_the_user_no_budget,
            revokes_while_meshes_fails_make_a_bounded_number_of_calls,
            the_revoke_budget_refuses_without_calling_meshes,
            external_user_id_is_the_user_key_by_default,
            random_interleaving_never_crosses_users,
        );
        $crate::store_conformance!(shared only: $make);
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::conformance::run($make, |kit| async move {
                    $crate::conformance::$name(&kit).await;
                });
            }
        )*
    };
    (@shared $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::conformance::run($make, |kit| async move {
                    $crate::conformance::shared_only(&kit, || $crate::conformance::$name(&kit))
                        .await;
                });
            }
        )*
    };
}

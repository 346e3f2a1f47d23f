//! One acceptance suite, two adapters: every scenario runs against an axum app and an actix
//! app, each on a real loopback socket, driven by a real HTTP client, against meshes-mock.
//! A scenario that passes on one adapter and fails on the other is an adapter bug.

use meshes_test_support::apps;

/// Runs every scenario against both adapters.
macro_rules! on_both_adapters {
    ($($name:ident),* $(,)?) => {
        mod axum {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::apps::Adapter::Axum).await;
                }
            )*
        }
        mod actix {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::apps::Adapter::Actix).await;
                }
            )*
        }
    };
}

mod otlp;
mod page_integrity;
mod scenarios;
mod trace;

//! Sending a command once more when it provably did not run: the node refused the
//! connection, the connection was closed before the command could be written (broken pipe,
//! not connected), the node said it is not (or not yet) a working master, or a cluster node
//! redirected it (`MOVED`, `ASK`) or refused it for now (`TRYAGAIN`, `CLUSTERDOWN`). Anything else
//! (a timeout, a connection lost while the command was in flight) may have run and is
//! answered as it is. A node that restarted (or a master that failed over) thus costs no
//! failed request: the connection manager reconnects on the first error and the command
//! goes out again on the new connection.

use redis::aio::ConnectionLike;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};

/// A command or a pipeline.
#[derive(Clone, Copy)]
pub(super) enum Request<'a> {
    One(&'a Cmd),
    Many(&'a Pipeline, usize, usize),
}

pub(super) enum Reply {
    One(Value),
    Many(Vec<Value>),
}

impl Reply {
    /// The reply of one command.
    pub(super) fn one(self) -> Value {
        match self {
            Self::One(value) => value,
            Self::Many(_) => unreachable!("one command has one reply"),
        }
    }

    /// The replies of a pipeline.
    pub(super) fn many(self) -> Vec<Value> {
        match self {
            Self::Many(values) => values,
            Self::One(_) => unreachable!("a pipeline has a list of replies"),
        }
    }
}

impl Request<'_> {
    pub(super) async fn send<C: ConnectionLike>(self, con: &mut C) -> Result<Reply, RedisError> {
        match self {
            Self::One(cmd) => con.req_packed_command(cmd).await.map(Reply::One),
            Self::Many(pipeline, offset, count) => con
                .req_packed_commands(pipeline, offset, count)
                .await
                .map(Reply::Many),
        }
    }
}

/// Whether the command could not be written (the connection was closed before it: broken
/// pipe, not connected), so it did not run.
pub(super) fn unsent(e: &RedisError) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    e.is_connection_dropped() && (text.contains("broken pipe") || text.contains("not connected"))
}

/// Whether the node answered that it is not (or not yet) a working master.
pub(super) fn demoted(e: &RedisError) -> bool {
    matches!(e.code(), Some("READONLY" | "MASTERDOWN" | "LOADING"))
        || ["READONLY", "MASTERDOWN"]
            .iter()
            .any(|code| e.to_string().contains(code))
}

/// Whether a cluster node redirected the command (`MOVED`, `ASK`: its slot map changed, as
/// after a node restarted) or refused it for now (`TRYAGAIN`, `CLUSTERDOWN`): it did not run.
pub(super) fn redirected(e: &RedisError) -> bool {
    e.redirect_node().is_some() || matches!(e.code(), Some("TRYAGAIN" | "CLUSTERDOWN"))
}

/// Whether `e` proves the command did not run, so that sending it again is safe.
pub(super) fn did_not_run(e: &RedisError) -> bool {
    e.is_connection_refusal() || unsent(e) || demoted(e) || redirected(e)
}

/// A connection that re-establishes itself (a node's connection manager, a cluster's
/// connection) whose commands that provably did not run are sent once more (on the
/// connection being re-established).
#[derive(Clone)]
pub(super) struct Resending<C>(pub(super) C);

impl<C: ConnectionLike + Send> Resending<C> {
    async fn send(&mut self, request: Request<'_>) -> Result<Reply, RedisError> {
        match request.send(&mut self.0).await {
            Err(e) if did_not_run(&e) => {
                tracing::debug!(error = %e, "redis: the command did not run; sending it once more on a new connection");
                request.send(&mut self.0).await
            }
            other => other,
        }
    }
}

impl<C: ConnectionLike + Send> ConnectionLike for Resending<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move { self.send(Request::One(cmd)).await.map(Reply::one) })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let request = Request::Many(pipeline, offset, count);
            self.send(request).await.map(Reply::many)
        })
    }

    fn get_db(&self) -> i64 {
        self.0.get_db()
    }
}

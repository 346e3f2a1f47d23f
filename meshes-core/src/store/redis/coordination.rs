//! What [`RedisEmbedStore`] shares between replicas besides the sessions: the refresh lease
//! (`SET NX PX`, renewed and released only by its token) and the per-user limits (GCRA on
//! Redis' clock).

use std::time::Duration;

use super::RedisEmbedStore;
use super::encoding::{millis, store_err};
use crate::model::SessionId;
use crate::rate::Rate;
use crate::store::StoreError;
use crate::store::{Admission, BoxFuture, LockToken, RefreshLease, SharedLimits};

impl RefreshLease for RedisEmbedStore {
    fn lock<'a>(
        &'a self,
        id: &'a SessionId,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<LockToken>, StoreError>> {
        Box::pin(async move {
            let mut con = self.con.clone();
            let token = uuid::Uuid::new_v4().simple().to_string();
            let ok: Option<String> = redis::cmd("SET")
                .arg(self.lock_key(id))
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query_async(&mut con)
                .await
                .map_err(store_err("taking a refresh lease"))?;
            Ok(ok.map(|_| LockToken::new(token)))
        })
    }

    fn renew<'a>(
        &'a self,
        id: &'a SessionId,
        token: &'a LockToken,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut con = self.con.clone();
            let renewed: i64 = self
                .scripts
                .renew
                .key(self.lock_key(id))
                .arg(token.as_str())
                .arg(millis(ttl))
                .invoke_async(&mut con)
                .await
                .map_err(store_err("renewing a refresh lease"))?;
            Ok(renewed == 1)
        })
    }

    fn unlock<'a>(
        &'a self,
        id: &'a SessionId,
        token: LockToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut con = self.con.clone();
            let _: i64 = self
                .scripts
                .unlock
                .key(self.lock_key(id))
                .arg(token.as_str())
                .invoke_async(&mut con)
                .await
                .map_err(store_err("releasing a refresh lease"))?;
            Ok(())
        })
    }
}

impl SharedLimits for RedisEmbedStore {
    fn take_rate<'a>(
        &'a self,
        key: &'a str,
        rate: Rate,
    ) -> BoxFuture<'a, Result<Admission, StoreError>> {
        Box::pin(async move {
            let mut con = self.con.clone();
            let wait_ms: u64 = self
                .scripts
                .rate
                .key(format!("{}:r:{key}", self.ns))
                .arg(u64::try_from(rate.per().as_millis()).unwrap_or(u64::MAX))
                .arg(rate.burst())
                .invoke_async(&mut con)
                .await
                .map_err(store_err("counting a rate limit"))?;
            Ok(match wait_ms {
                0 => Admission::Allowed,
                ms => Admission::Refused {
                    retry_after: Duration::from_millis(ms),
                },
            })
        })
    }
}

//! The meshes-core client and meshes-mock together, under concurrency.

use std::collections::HashSet;

use meshes_core::ExposeSecret;
use meshes_core::model::{CreateSession, ListSessions};
use meshes_mock::{Endpoint, MockMeshes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_mints_and_refreshes_stay_separate() {
    let mock = MockMeshes::start().await.unwrap();
    let client = mock.client();
    let ws = mock.workspace_id();

    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let user = format!("user-{i}");
                let s = client
                    .create_session(&CreateSession::new(ws).external_user_id(&user))
                    .await
                    .unwrap();
                let r = client.refresh_session(&s.session_id).await.unwrap();
                (
                    user,
                    s.session_id,
                    s.access_token.expose_secret().to_owned(),
                    r,
                )
            })
        })
        .collect();
    let mut tokens = HashSet::new();
    for task in tasks {
        let (user, id, first, refreshed) = task.await.unwrap();
        let second = refreshed.access_token.expose_secret().to_owned();
        assert_eq!(refreshed.session_id, id);
        assert!(!mock.token_is_current(&first) && mock.token_is_current(&second));
        assert_eq!(
            mock.session(id.as_str())
                .unwrap()
                .external_user_id
                .as_deref(),
            Some(user.as_str())
        );
        assert!(
            tokens.insert(first) && tokens.insert(second),
            "tokens are unique"
        );
    }
    assert_eq!(mock.all_calls(), [50, 50, 0, 0]);
    let listed = client
        .session_pages(ListSessions::new(ws).limit(7))
        .collect_all()
        .await
        .unwrap();
    assert_eq!(listed.len(), 50);
    assert_eq!(mock.calls(Endpoint::List), 8, "50 records in pages of 7");
}

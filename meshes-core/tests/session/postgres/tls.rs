//! TLS to PostgreSQL as libpq reads it from the URL (`sslmode`, `sslrootcert`), against a
//! server that accepts TLS connections only, with a certificate for `127.0.0.1` and
//! `localhost` from a private CA.

use std::error::Error as _;
use std::time::Duration;

use meshes_core::store::{EmbedStore, PostgresEmbedStore, StoreError};
use meshes_test_support::postgres::PostgresServer;

const PASSWORD: &str = "pw-never-in-a-message";

/// The error's message, its sources' and its `Debug`.
fn everything(e: &StoreError) -> String {
    let mut text = format!("{e:?}");
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cause {
        text.push_str(&format!(" / {c}"));
        cause = c.source();
    }
    text
}

async fn connect(url: String) -> Result<PostgresEmbedStore, StoreError> {
    PostgresEmbedStore::builder(url)
        .schema("tls")
        .timeout(Duration::from_secs(5))
        .connect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_as_libpq_reads_it_from_the_url() {
    let Some(pg) = PostgresServer::start_tls("the PostgreSQL TLS test") else {
        return;
    };
    let certs = pg.certificates().expect("a TLS server");
    let url = |host: &str, query: &str| {
        format!(
            "postgres://meshes:{PASSWORD}@{host}:{}/meshes?{query}",
            pg.port()
        )
    };
    let ca = certs.ca.display().to_string();
    let wrong_ca = certs.wrong_ca.display().to_string();

    // verify-full against the private CA: the chain and the name (an IP SAN) hold.
    let store = connect(url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await
    .expect("verify-full against the CA");
    let session = super::live("sess_tls");
    let builder = PostgresEmbedStore::builder(url("127.0.0.1", "sslmode=require"));
    assert!(!format!("{builder:?} {store:?}").contains(PASSWORD));
    store.insert(&session).await.unwrap();
    assert!(store.load(&session.session_id).await.unwrap().is_some());

    // The server refuses plain text, so what worked above was TLS.
    let plain = connect(url("127.0.0.1", "sslmode=disable"))
        .await
        .unwrap_err();
    assert!(
        everything(&plain).contains("no pg_hba.conf entry"),
        "{plain:?}"
    );
    // libpq's default (prefer) and require: encrypted, the server not authenticated.
    connect(url("localhost", "")).await.expect("prefer");
    connect(url("localhost", "sslmode=require"))
        .await
        .expect("require");

    // A CA that did not sign the server's certificate: refused, naming the setting.
    let e = connect(url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={wrong_ca}"),
    ))
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("sslrootcert") && e.to_string().contains("wrong-ca.pem"),
        "{e}"
    );
    assert!(!everything(&e).contains(PASSWORD), "{e:?}");
    // libpq: `require` with a root certificate verifies the chain.
    connect(url(
        "127.0.0.1",
        &format!("sslmode=require&sslrootcert={wrong_ca}"),
    ))
    .await
    .expect_err("require with a root certificate verifies it");

    // A host name the certificate does not hold (reached through hostaddr): verify-full
    // refuses it, verify-ca accepts it (the chain holds).
    let e = connect(url(
        "db.example",
        &format!("hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await
    .unwrap_err();
    assert!(e.to_string().contains("name the URL's host"), "{e}");
    assert!(!everything(&e).contains(PASSWORD), "{e:?}");
    connect(url(
        "db.example",
        &format!("hostaddr=127.0.0.1&sslmode=verify-ca&sslrootcert={ca}"),
    ))
    .await
    .expect("verify-ca checks the chain only");

    // A missing CA file is named at startup.
    let e = connect(url(
        "127.0.0.1",
        "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    ))
    .await
    .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    assert!(e.source().is_some());
}

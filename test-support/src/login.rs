//! Signing in to the example apps, as a browser would.

/// Signs `user` in to the example app at `url` (`GET /login?user=…`, the apps' stand-in
/// login) and returns the `Cookie` header value that carries the login session.
///
/// # Panics
///
/// When the app does not answer the sign-in with a redirect that sets a cookie.
pub async fn sign_in(url: &str, user: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let resp = http
        .get(format!("{url}/login?user={user}"))
        .send()
        .await
        .expect("the app answers /login");
    assert_eq!(resp.status().as_u16(), 303, "sign-in redirects");
    let cookies: Vec<&str> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .collect();
    assert!(!cookies.is_empty(), "sign-in sets a cookie");
    cookies.join("; ")
}

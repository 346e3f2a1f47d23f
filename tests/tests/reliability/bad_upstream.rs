//! A raw TCP "Meshes" that misbehaves in ways an HTTP mock cannot. One request per
//! connection, announced with `Connection: close` so that clients do not reuse it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Mode {
    /// Nothing listens.
    Refused,
    /// Starts a response, then resets the connection.
    ResetMidResponse,
    /// Accepts, reads, never answers.
    HeadersNeverArrive,
    /// Promises more body than it sends, then closes.
    TruncatedJson,
    /// A 200 with a 1 MiB body.
    Oversized,
    /// A 200 JSON missing required fields.
    MissingFields,
    /// A 200 that is not JSON.
    NotJson,
    /// An error status, optionally with `Retry-After`.
    Status(u16, Option<&'static str>),
}

/// Starts the server; returns its base URL.
pub(crate) async fn start(mode: Mode) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    if matches!(mode, Mode::Refused) {
        return url; // dropped: the port refuses
    }
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                // Read the whole request first: closing a socket with unread input sends a
                // reset, which would turn every mode into "connection reset".
                read_request(&mut sock).await;
                let reply: Vec<u8> = match mode {
                    Mode::Refused => return,
                    Mode::ResetMidResponse => {
                        let _ = sock.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"session_id\":").await;
                        let _ = sock.set_zero_linger();
                        return; // dropped with linger 0: RST
                    }
                    Mode::HeadersNeverArrive => {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        return;
                    }
                    Mode::TruncatedJson => b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"session_id\":\"sess_1\",\"access_tok".to_vec(),
                    Mode::Oversized => {
                        let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(1 << 20));
                        format!("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
                    }
                    Mode::MissingFields => {
                        let body = r#"{"session_id":"sess_1"}"#;
                        format!("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
                    }
                    Mode::NotJson => {
                        let body = "<html>gateway</html>";
                        format!("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
                    }
                    Mode::Status(code, retry_after) => {
                        let body = r#"{"message":"upstream says no"}"#;
                        let ra = retry_after.map(|v| format!("Retry-After: {v}\r\n")).unwrap_or_default();
                        format!("HTTP/1.1 {code} X\r\nConnection: close\r\nContent-Type: application/json\r\n{ra}Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
                    }
                };
                let _ = sock.write_all(&reply).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    url
}

/// Reads one request: headers, then `Content-Length` bytes of body.
async fn read_request(sock: &mut tokio::net::TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = sock.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            return;
        }
    }
}

//! An HTTP service whose handlers continue their callers' traces, and pass
//! the trace on to the services they call.
//!
//! ```bash
//! cargo run -p zen-telemetry --features testing --example http_service
//! curl -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' localhost:3000/orders
//! ```
//!
//! Two pieces: a middleware that runs each request inside the caller's
//! context (from its `traceparent` header), and `propagation::headers()` on
//! the way out.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use zen_telemetry::opentelemetry::context::FutureExt;
use zen_telemetry::propagation;
use zen_telemetry::traced;

/// Runs the rest of the request inside the caller's trace, when it sent one.
async fn continue_trace(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let caller = propagation::from_headers(|name| headers.get(name).and_then(|v| v.to_str().ok()));
    match caller {
        Some(cx) => next.run(request).with_context(cx).await,
        None => next.run(request).await,
    }
}

/// A handler: a server span, child of the caller's span.
#[traced("GET /orders", kind = server)]
async fn orders() -> String {
    // What a call to another service would send along (with any HTTP client).
    let outgoing: Vec<String> = propagation::headers()
        .into_iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect();
    format!("3 orders\n{}\n", outgoing.join("\n"))
}

fn app() -> Router {
    Router::new()
        .route("/orders", get(orders))
        .layer(middleware::from_fn(continue_trace))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app()).await
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use zen_telemetry::opentelemetry::trace::SpanKind;
    use zen_telemetry::testing::{capture, span_named};

    use super::app;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const CALLER_SPAN: &str = "00f067aa0ba902b7";

    /// A plain HTTP/1.1 request from another thread, as a caller would send it.
    fn get(addr: std::net::SocketAddr, traceparent: &str) -> String {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        write!(
            stream,
            "GET /orders HTTP/1.1\r\nhost: {addr}\r\ntraceparent: {traceparent}\r\nconnection: close\r\n\r\n"
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        response
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn the_server_span_continues_the_callers_trace_and_passes_it_on() {
        let captured = capture();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move { axum::serve(listener, app()).await });
        let traceparent = format!("00-{TRACE}-{CALLER_SPAN}-01");
        let response = tokio::task::spawn_blocking(move || get(addr, &traceparent))
            .await
            .expect("the request");
        server.abort();

        let spans = captured.spans();
        let handler = span_named(&spans, "GET /orders");
        assert_eq!(handler.trace_id.to_string(), TRACE, "the caller's trace");
        assert_eq!(
            handler.parent_span_id.map(|id| id.to_string()).as_deref(),
            Some(CALLER_SPAN)
        );
        assert_eq!(handler.kind, SpanKind::Server);
        // The outgoing traceparent names the handler's span as the parent.
        let passed_on = format!("traceparent: 00-{TRACE}-{}-01", handler.span_id);
        assert!(response.contains(&passed_on), "{response}");
    }
}

//! The interface's static files, compiled into the binary: no CDN, no
//! build step. Each is named by its content type here, and nothing else
//! under `/assets/` exists.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &[u8])] = &[
    ("kith.css", "text/css; charset=utf-8", include_bytes!("../../../assets/kith.css")),
    ("kith.js", "text/javascript; charset=utf-8", include_bytes!("../../../assets/kith.js")),
    ("htmx.min.js", "text/javascript; charset=utf-8", include_bytes!("../../../assets/vendor/htmx.min.js")),
];

pub async fn serve(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, bytes)) => ([(header::CONTENT_TYPE, *content_type)], *bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

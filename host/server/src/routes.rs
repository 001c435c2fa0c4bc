//! The route table: every route of the HTTP surface with the [`Access`] it requires, in one
//! list. The router is built from it, the credential checks run from it, and the tenant
//! isolation tests are generated from it, so a route cannot be added without saying who may
//! call it.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::app::AppState;
use crate::auth::{self, Access};

/// A route as the table lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// Its method.
    pub method: Method,
    /// Its path, with `{name}` for parameters.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
}

/// A route with its handler.
pub(crate) struct Route {
    spec: RouteSpec,
    handler: MethodRouter<AppState>,
}

impl Route {
    /// Wraps the route's handler in `layer` (inside the access check).
    pub(crate) fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service: tower::Service<axum::extract::Request> + Clone + Send + Sync + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Response:
            axum::response::IntoResponse + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Error:
            Into<std::convert::Infallible> + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
    {
        self.handler = self.handler.layer(layer);
        self
    }
}

/// A route answering `method` on `path` for callers with `access`.
pub(crate) fn route<H, T>(method: Method, path: &'static str, access: Access, handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone())
        .unwrap_or_else(|_| unreachable!("routes use standard methods"));
    Route {
        spec: RouteSpec {
            method,
            path,
            access,
        },
        handler: on(filter, handler),
    }
}

fn all() -> Vec<Route> {
    let mut routes = crate::api::routes();
    routes.extend(crate::ui::routes());
    routes
}

/// Every route, as the table lists it.
pub fn table() -> Vec<RouteSpec> {
    all().into_iter().map(|route| route.spec).collect()
}

/// A request's span: its method and path, never its query, which can carry an OAuth
/// provider's authorization code or a one-time link's secret.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
    )
}

/// The router of the whole HTTP surface, each route behind the check of its access.
pub fn router(app: AppState) -> Router {
    let mut router = Router::new();
    for Route { spec, handler } in all() {
        let guard = middleware::from_fn_with_state((app.clone(), spec.access), auth::authorize);
        router = router.route(spec.path, handler.route_layer(guard));
    }
    router
        .fallback(crate::api::not_found)
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(app)
}

//! TV mode — the dashboard for a wall display: every machine's tile at a size read from across
//! the shop, no interaction needed — and how a display stays connected without anyone signed in
//! on it: an admin creates a display (a revocable device token), the display opens its link once
//! and keeps the token in a cookie.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chatter_model::{DeviceKind, DeviceToken};
use serde::Deserialize;

use super::cookies;
use super::dashboard::org_name;
use super::floor_view::FloorView;
use super::frame::{Done, Frame, Section};
use super::page::{Failure, When, render};
use crate::accounts::{self, RequestContext};
use crate::app::AppState;
use crate::auth::{self, Caller, Tenant};
use crate::floor;

/// Where a display that is not connected (or was revoked) is sent.
pub(crate) const CONNECT_PATH: &str = "/tv/connect";

/// How long a display's cookie is kept. Browsers cap cookies at 400 days; the display token
/// itself lasts until revoked, and each visit to TV mode renews the cookie.
const DISPLAY_COOKIE_MAX_AGE_S: u32 = 400 * 24 * 3600;

#[derive(Template)]
#[template(path = "tv.html")]
struct TvPage {
    org_name: String,
    floor: FloorView,
    asset_version: &'static str,
}

/// `GET /tv`: the organization's tiles, full screen.
pub(crate) async fn show(
    State(app): State<AppState>,
    tenant: Tenant,
    jar: CookieJar,
) -> Result<Response, Failure> {
    let mut floor = FloorView::new(floor::tiles(&app, &tenant).await?, None, None);
    floor.links = false;
    let page = TvPage {
        org_name: org_name(&tenant).await?,
        floor,
        asset_version: super::assets::version(),
    };
    // Renewed on each visit, so a display that stays on never reaches the cookie's end.
    let jar = match jar.get(app.web.display_cookie()) {
        Some(cookie) => {
            let token = cookie.value().to_owned();
            display_cookie(&app, jar, &token)?
        }
        None => jar,
    };
    Ok((jar, render(StatusCode::OK, &page)).into_response())
}

#[derive(Template)]
#[template(path = "tv_connect.html")]
struct ConnectPage {
    frame: Frame,
}

/// `GET /tv/connect`: the form a display is connected with (its link fills it in).
pub(crate) async fn connect_page(
    State(app): State<AppState>,
    jar: CookieJar,
) -> Result<Response, Failure> {
    let (jar, csrf) = cookies::form_token(&app, jar)?;
    let page = ConnectPage {
        frame: Frame::public("Connect this display", csrf),
    };
    Ok((jar, render(StatusCode::OK, &page)).into_response())
}

/// The connect form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ConnectForm {
    csrf: String,
    code: String,
}

/// `POST /tv/connect`: keeps a live display token in the display's cookie and opens TV mode.
pub(crate) async fn connect(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<ConnectForm>,
) -> Result<Response, Failure> {
    cookies::check_form(&app, &jar, &headers, &form.csrf)?;
    let code = form.code.trim();
    if !auth::is_live_display_token(&app, code).await? {
        let frame = Frame::public("Connect this display", form.csrf).with_field_error(
            "display-code",
            "This code is unknown or was revoked. Ask an admin for the display's current link."
                .to_owned(),
        );
        return Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ConnectPage { frame },
        ));
    }
    let jar = display_cookie(&app, jar, code)?;
    Ok((jar, Redirect::to("/tv")).into_response())
}

/// Sets the cookie a display keeps its token in.
fn display_cookie(app: &AppState, jar: CookieJar, token: &str) -> Result<CookieJar, Failure> {
    let mut cookie = Cookie::parse(format!(
        "{}={token}; Max-Age={DISPLAY_COOKIE_MAX_AGE_S}",
        app.web.display_cookie()
    ))
    .map_err(Failure::internal)?;
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_path("/");
    cookie.set_secure(app.web.secure);
    Ok(jar.add(cookie))
}

#[derive(Template)]
#[template(path = "displays.html")]
struct DisplaysPage {
    frame: Frame,
    org_name: String,
    displays: Vec<DisplayRow>,
    /// The display just created, with its link: shown this once.
    created: Option<CreatedDisplay>,
    /// What the name field held.
    name: String,
}

struct DisplayRow {
    id: String,
    name: String,
    created: When,
    revoked: Option<When>,
}

struct CreatedDisplay {
    name: String,
    code: String,
    link: String,
}

/// `GET /displays`: the organization's wall displays.
pub(crate) async fn displays(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let frame = Frame::signed_in(&app, &caller, "Wall displays", Section::Organization)
        .await?
        .done(&done);
    displays_page(&tenant, frame, None, String::new(), StatusCode::OK).await
}

async fn displays_page(
    tenant: &Tenant,
    frame: Frame,
    created: Option<CreatedDisplay>,
    name: String,
    status: StatusCode,
) -> Result<Response, Failure> {
    let mut displays: Vec<DeviceToken> = tenant
        .store()
        .device_tokens()
        .await?
        .into_iter()
        .map(|(_, token)| token)
        .filter(|token| token.kind == DeviceKind::Display)
        .collect();
    displays.sort_by_key(|token| std::cmp::Reverse(token.created_at_ms));
    let page = DisplaysPage {
        frame,
        org_name: org_name(tenant).await?,
        displays: displays
            .into_iter()
            .map(|token| DisplayRow {
                id: token.id,
                name: token.name,
                created: When::at(token.created_at_ms),
                revoked: token.revoked_at_ms.map(When::at),
            })
            .collect(),
        created,
        name,
    };
    Ok(render(status, &page))
}

/// The new-display form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewDisplayForm {
    name: String,
}

/// `POST /displays`: creates a display and shows its link once.
pub(crate) async fn create_display(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    Form(form): Form<NewDisplayForm>,
) -> Result<Response, Failure> {
    let created =
        accounts::create_device_token(&app, &context, &tenant, &form.name, DeviceKind::Display)
            .await;
    let mut frame = Frame::signed_in(&app, &caller, "Wall displays", Section::Organization).await?;
    match created {
        Ok((code, record)) => {
            // The code travels in the fragment, which browsers never send to a server, so it
            // stays out of access logs and `Referer` headers.
            let link = app.web.link(&format!("{CONNECT_PATH}#{code}"));
            let created = CreatedDisplay {
                name: record.name,
                code,
                link,
            };
            displays_page(&tenant, frame, Some(created), String::new(), StatusCode::OK).await
        }
        Err(error) => {
            let status = frame.refuse(error, &[("name", "display-name")])?;
            displays_page(&tenant, frame, None, form.name, status).await
        }
    }
}

/// `POST /displays/{id}/revoke`: the display shows "disconnected" from its next request.
pub(crate) async fn revoke_display(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    accounts::revoke_device_token(&app, &context, &tenant, &id, Some(DeviceKind::Display)).await?;
    Ok(cookies::done("/displays", "display_revoked"))
}

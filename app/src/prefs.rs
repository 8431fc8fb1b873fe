//! The viewer's display preferences, kept in the browser as cookies so the server renders the
//! page right the first time (no flash of the wrong theme, no times jumping zones):
//!
//! - `theme`: `light` or `dark`; absent means "follow the OS". Set by the top bar's theme button,
//!   a plain form (works without JavaScript), and read by [`crate::shell`] into
//!   `<html data-theme>`.
//! - `tz`: the browser's IANA time zone (`Europe/Paris`), written by the wasm on every page (see
//!   [`remember_time_zone`]). Until the browser has said, times are shown in UTC, named so.
//!
//! Neither is a secret nor changes anything on the server, so neither is audited; a cookie a
//! person crafts only changes how their own pages look.

use leptos::prelude::*;

use crate::error::AppError;

/// The theme the viewer chose, or the OS's when they chose none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

// The server reads and writes the cookie; the wasm only renders the button.
#[cfg_attr(not(feature = "ssr"), allow(dead_code))]
impl Theme {
    pub const COOKIE: &'static str = "theme";

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "system" => Some(Self::System),
            "light" => Some(Self::Light),
            "dark" => Some(Self::Dark),
            _ => None,
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    /// The value of `<html data-theme>`: nothing when the OS decides.
    pub fn data_attribute(self) -> Option<&'static str> {
        match self {
            Self::System => None,
            Self::Light => Some("light"),
            Self::Dark => Some("dark"),
        }
    }

    /// One button cycles through the three: system → dark → light → system.
    pub fn next(self) -> Self {
        match self {
            Self::System => Self::Dark,
            Self::Dark => Self::Light,
            Self::Light => Self::System,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }
}

/// The viewer's theme, from their cookie (server side; `System` in the browser, where only the
/// server-rendered top bar shows it).
pub fn current_theme() -> Theme {
    #[cfg(feature = "ssr")]
    {
        ssr::cookie(Theme::COOKIE)
            .and_then(|value| Theme::parse(&value))
            .unwrap_or(Theme::System)
    }
    #[cfg(not(feature = "ssr"))]
    Theme::System
}

/// Remembers the theme for a year and goes back to the page the button was on.
#[server(prefix = "/fn", endpoint = "theme")]
pub async fn set_theme(theme: String, back: String) -> Result<(), AppError> {
    let Some(theme) = Theme::parse(&theme) else {
        return Err(fleet::FleetError::Invalid(format!(
            "unknown theme {theme:?}: choose light, dark or system"
        ))
        .into());
    };
    let cookie = match theme {
        Theme::System => format!("{}=; Path=/; Max-Age=0; SameSite=Lax", Theme::COOKIE),
        chosen => format!(
            "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            Theme::COOKIE,
            chosen.slug()
        ),
    };
    if let (Some(response), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(&cookie),
    ) {
        response.append_header(http::header::SET_COOKIE, value);
    }
    leptos_axum::redirect(&fleet::auth::local_redirect(Some(&back)));
    Ok(())
}

/// The top bar's theme button: says what the theme is and what a press makes it.
#[component]
pub fn ThemeButton() -> impl IntoView {
    let theme = current_theme();
    let next = theme.next();
    let here = leptos_router::hooks::use_location();
    // The raw query string may or may not keep its `?`; the page comes back whole either way.
    let path = here.pathname.get_untracked();
    let search = here.search.get_untracked();
    // A form's outcome notice (`done`/`error` with its `sig`) is not carried back: it was
    // shown once, and a crafted link's text does not travel on through this form.
    let query: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            !pair.is_empty() && !matches!(key, "done" | "error" | "sig")
        })
        .collect();
    let back = if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    };
    view! {
        <form method="post" action={<SetTheme as leptos::server_fn::ServerFn>::url()} class="inline-form topbar__theme">
            <input type="hidden" name="back" value=back/>
            <button
                type="submit"
                name="theme"
                value=next.slug()
                class="btn btn--on-dark theme-button"
                title=format!("Theme: {}. Press for {}.", theme.label(), next.label())
                aria-label=format!("Theme: {}. Switch to {}", theme.label(), next.label())
            >
                <span aria-hidden="true">{match theme { Theme::System => "◐", Theme::Light => "☀", Theme::Dark => "☾" }}</span>
                <span class="theme-button__text">{format!(" Theme: {}", theme.label())}</span>
            </button>
        </form>
    }
}

/// Where an instant falls for the viewer: the offset from UTC and the zone's short name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneAt {
    pub offset_secs: i32,
    pub name: String,
}

/// The cookie the browser's time zone travels in.
pub const TIME_ZONE_COOKIE: &str = "tz";

/// The viewer's zone at `at`. On the server: the zone of the `tz` cookie by its rules
/// (chrono-tz), named by its abbreviation ("CET", "CEST", "IST"), UTC when the browser has not
/// said yet. In the browser (an island re-rendering): the browser's own zone, which is the one
/// the cookie names, written as an offset ("UTC+01:00") since the wasm carries no zone names.
pub fn zone_at(at: chrono::DateTime<chrono::Utc>) -> ZoneAt {
    #[cfg(feature = "ssr")]
    {
        use chrono::Offset;
        use chrono_tz::OffsetName;
        let zone = ssr::viewer_zone();
        let offset = chrono::TimeZone::offset_from_utc_datetime(&zone, &at.naive_utc());
        let offset_secs = offset.fix().local_minus_utc();
        let name = offset
            .abbreviation()
            .filter(|name| name.chars().any(|c| c.is_ascii_alphabetic()))
            .map(str::to_owned)
            .unwrap_or_else(|| offset_name(offset_secs));
        ZoneAt { offset_secs, name }
    }
    #[cfg(not(feature = "ssr"))]
    {
        let offset_secs =
            chrono::TimeZone::offset_from_utc_datetime(&chrono::Local, &at.naive_utc())
                .local_minus_utc();
        ZoneAt {
            offset_secs,
            name: offset_name(offset_secs),
        }
    }
}

/// "UTC", "UTC+01:00", "UTC-03:30".
fn offset_name(offset_secs: i32) -> String {
    if offset_secs == 0 {
        return "UTC".to_owned();
    }
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let minutes = offset_secs.unsigned_abs() / 60;
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `at` in the viewer's zone by a chrono pattern, where `%Z` is the zone's name:
/// `zoned(at, "%Y-%m-%d %H:%M %Z")` → "2026-12-02 15:03 CET".
pub fn zoned(at: chrono::DateTime<chrono::Utc>, pattern: &str) -> String {
    let zone = zone_at(at);
    let local = at.naive_utc() + chrono::Duration::seconds(i64::from(zone.offset_secs));
    local.format(&pattern.replace("%Z", &zone.name)).to_string()
}

/// An RFC 3339 time from the service, in the viewer's zone; the text itself if unreadable.
pub fn zoned_rfc3339(rfc3339: &str, pattern: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(at) => zoned(at.with_timezone(&chrono::Utc), pattern),
        Err(_) => rfc3339.to_owned(),
    }
}

/// Tells the server the browser's time zone (a cookie, for the pages that follow), on every
/// page once the wasm runs. Browser only.
pub fn remember_time_zone() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let options =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
                .resolved_options();
        let Some(zone) = js_sys::Reflect::get(&options, &"timeZone".into())
            .ok()
            .and_then(|zone| zone.as_string())
        else {
            return;
        };
        let Some(document) = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.dyn_into::<web_sys::HtmlDocument>().ok())
        else {
            return;
        };
        let wanted = format!("{TIME_ZONE_COOKIE}={zone}");
        let known = document.cookie().unwrap_or_default();
        if !known.split(';').any(|pair| pair.trim() == wanted) {
            let _ =
                document.set_cookie(&format!("{wanted}; Path=/; Max-Age=31536000; SameSite=Lax"));
        }
    }
}

/// Reads the viewer's zone once for the page being rendered (the shell calls it), so the
/// dozens of times on an audit page do not each read the cookie again.
pub fn provide_viewer_zone() {
    #[cfg(feature = "ssr")]
    provide_context(ssr::ViewerZone(ssr::zone_from_cookie()));
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    /// The zone of the page being rendered (see [`super::provide_viewer_zone`]).
    #[derive(Clone, Copy)]
    pub struct ViewerZone(pub chrono_tz::Tz);

    /// The viewer's zone: the page's, or for a server function (no shell) the cookie's.
    pub fn viewer_zone() -> chrono_tz::Tz {
        leptos::prelude::use_context::<ViewerZone>()
            .map_or_else(zone_from_cookie, |ViewerZone(zone)| zone)
    }

    /// The `tz` cookie's zone; UTC when there is none or it names no zone.
    pub fn zone_from_cookie() -> chrono_tz::Tz {
        cookie(super::TIME_ZONE_COOKIE)
            .and_then(|name| name.parse().ok())
            .unwrap_or(chrono_tz::UTC)
    }

    /// A cookie of this request, by name.
    pub fn cookie(name: &str) -> Option<String> {
        let parts = leptos::prelude::use_context::<http::request::Parts>()?;
        cookie_in(&parts.headers, name)
    }

    pub(crate) fn cookie_in(headers: &http::HeaderMap, name: &str) -> Option<String> {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_owned())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn finds_a_cookie_among_others() {
            let mut headers = http::HeaderMap::new();
            headers.append(
                http::header::COOKIE,
                "id=abc; theme=dark".parse().expect("header"),
            );
            headers.append(
                http::header::COOKIE,
                "tz=Europe/Paris".parse().expect("header"),
            );
            assert_eq!(cookie_in(&headers, "theme").as_deref(), Some("dark"));
            assert_eq!(cookie_in(&headers, "tz").as_deref(), Some("Europe/Paris"));
            assert_eq!(cookie_in(&headers, "them"), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_named_like_utc_plus() {
        assert_eq!(offset_name(0), "UTC");
        assert_eq!(offset_name(3600), "UTC+01:00");
        assert_eq!(offset_name(-(3 * 3600 + 1800)), "UTC-03:30");
        assert_eq!(offset_name(5 * 3600 + 1800), "UTC+05:30");
    }

    #[test]
    fn the_button_cycles_through_all_three() {
        let mut theme = Theme::System;
        let mut seen = vec![];
        for _ in 0..3 {
            theme = theme.next();
            seen.push(theme);
        }
        assert_eq!(seen, [Theme::Dark, Theme::Light, Theme::System]);
        for theme in seen {
            assert_eq!(Theme::parse(theme.slug()), Some(theme));
        }
        assert_eq!(Theme::parse("blue"), None);
    }
}

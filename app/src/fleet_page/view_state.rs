//! How the fleet is being looked at: the state filter, the search, the order, the layout and
//! "changed in the last hour". It lives in the URL's query string (`/?state=timeout&sort=queue&
//! layout=list`), so a view can be bookmarked, shared and reloaded; the page reads it on the
//! server and the board writes it back as it changes (`history.replaceState`, no reload).

use fleet::model::Health;
use serde::{Deserialize, Serialize};

/// The orders the fleet can be shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(super) enum SortBy {
    #[default]
    Name,
    /// Most in need first ([`Health::severity`]), then by name.
    State,
    /// Longest message queue first.
    Queue,
    /// Most recent change of state first.
    LastChange,
    /// Lowest uptime over 24 hours first.
    Uptime,
}

impl SortBy {
    pub(super) const ALL: [SortBy; 5] = [
        SortBy::Name,
        SortBy::State,
        SortBy::Queue,
        SortBy::LastChange,
        SortBy::Uptime,
    ];

    pub(super) fn slug(self) -> &'static str {
        match self {
            SortBy::Name => "name",
            SortBy::State => "state",
            SortBy::Queue => "queue",
            SortBy::LastChange => "change",
            SortBy::Uptime => "uptime",
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            SortBy::Name => "Name",
            SortBy::State => "State, most urgent first",
            SortBy::Queue => "Queue, longest first",
            SortBy::LastChange => "Last change, newest first",
            SortBy::Uptime => "Uptime (24 h), lowest first",
        }
    }

    pub(super) fn parse(value: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|sort| sort.slug() == value)
            .unwrap_or_default()
    }
}

/// Cards for a few projects, a dense list (a row each) for a big fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(super) enum Layout {
    #[default]
    Cards,
    List,
}

impl Layout {
    // Writing the view back to the address bar happens in the browser only.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(super) fn slug(self) -> &'static str {
        match self {
            Layout::Cards => "cards",
            Layout::List => "list",
        }
    }

    pub(super) fn parse(value: &str) -> Self {
        if value == "list" {
            Layout::List
        } else {
            Layout::Cards
        }
    }
}

/// Everything the query string says about the view; unknown or bad values fall back to the
/// default (a shared link with a typo still shows the fleet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewState {
    pub(super) state: Option<Health>,
    pub(super) search: String,
    pub(super) sort: SortBy,
    pub(super) layout: Layout,
    pub(super) recent: bool,
}

impl ViewState {
    /// From the query string's parameters, by name.
    pub(super) fn from_query(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            state: get("state").and_then(|slug| Health::ALL.into_iter().find(|h| h.slug() == slug)),
            search: get("q").unwrap_or_default(),
            sort: get("sort").map_or_else(SortBy::default, |s| SortBy::parse(&s)),
            layout: get("layout").map_or_else(Layout::default, |l| Layout::parse(&l)),
            recent: get("recent").is_some_and(|r| r == "1"),
        }
    }

    /// The query string for this view, defaults left out: `""` or `"?state=timeout&q=north"`.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(super) fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(state) = self.state {
            parts.push(format!("state={}", state.slug()));
        }
        let search = self.search.trim();
        if !search.is_empty() {
            parts.push(format!("q={}", crate::audit_page::encode(search)));
        }
        if self.sort != SortBy::Name {
            parts.push(format!("sort={}", self.sort.slug()));
        }
        if self.layout != Layout::Cards {
            parts.push(format!("layout={}", self.layout.slug()));
        }
        if self.recent {
            parts.push("recent=1".to_owned());
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// Puts the view in the address bar without a reload or a history entry (browser only).
pub(super) fn show_in_address_bar(view: &ViewState) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let path = window.location().pathname().unwrap_or_else(|_| "/".into());
        let url = format!("{path}{}", view.to_query());
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = view;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &[(&str, &str)]) -> ViewState {
        ViewState::from_query(|name| {
            query
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn a_view_survives_the_round_trip_through_the_query_string() {
        let view = ViewState {
            state: Some(Health::Timeout),
            search: "north wind".into(),
            sort: SortBy::Queue,
            layout: Layout::List,
            recent: true,
        };
        let query = view.to_query();
        assert_eq!(
            query,
            "?state=timeout&q=north%20wind&sort=queue&layout=list&recent=1"
        );
        let pairs: Vec<(String, String)> = query
            .trim_start_matches('?')
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.replace("%20", " ")))
            .collect();
        let back = ViewState::from_query(|name| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        });
        assert_eq!(back, view);
    }

    #[test]
    fn the_default_view_has_no_query_and_bad_values_fall_back() {
        assert_eq!(ViewState::default().to_query(), "");
        let view = parse(&[
            ("state", "purple"),
            ("sort", "size"),
            ("layout", "3d"),
            ("recent", "yes"),
        ]);
        assert_eq!(view, ViewState::default());
        assert_eq!(parse(&[("sort", "state")]).sort, SortBy::State);
    }
}

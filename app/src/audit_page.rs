//! The audit log page: who did what, when, and how it ended. The filters live in the URL's
//! query string (a plain GET form), so the page works without JavaScript and every view of
//! it is a link that can be shared. Pages are keyset-paginated with `before`.

use chrono::NaiveDate;
use fleet::model::{AuditAction, AuditEntry, AuditOutcome, AuditQueryText};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// One page of the audit log, newest first. The filters come as the URL has them and are
/// parsed here ([`AuditQueryText::parse`], the same rules as the API's and the CSV export's):
/// a bad value comes back as a message.
// JSON, not a form: an all-empty filter would otherwise encode to nothing at all.
#[server(prefix = "/fn", endpoint = "audit", input = leptos::server_fn::codec::Json)]
pub async fn get_audit(filters: AuditQueryText) -> Result<fleet::model::AuditPage, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let filter = filters
        .parse()
        .map_err(|message| AppError::from(fleet::FleetError::Invalid(message)))?;
    Ok(fleet.audit_page(&actor, &filter).await?)
}

/// The last background check of the audit log's hash chain, if one ran yet.
#[server(prefix = "/fn", endpoint = "audit_chain")]
pub async fn audit_chain_status() -> Result<Option<fleet::model::ChainReport>, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(fleet.latest_chain_report(&actor).await?)
}

/// A project the filter can choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectChoice {
    pub id: i64,
    pub name: String,
}

/// The projects for the filter's drop-down (ids and names only).
#[server(prefix = "/fn", endpoint = "audit_projects")]
pub async fn audit_projects() -> Result<Vec<ProjectChoice>, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(fleet
        .list_projects(&actor)?
        .into_iter()
        .map(|p| ProjectChoice {
            id: p.id,
            name: p.name,
        })
        .collect())
}

/// The filters exactly as the URL has them, trimmed (empty means "any").
fn filters_from_url(get: impl Fn(&str) -> Option<String>) -> AuditQueryText {
    let text = |key: &str| get(key).map(|v| v.trim().to_owned()).unwrap_or_default();
    AuditQueryText {
        project_id: text("project_id"),
        actor: text("actor"),
        action: text("action"),
        outcome: text("outcome"),
        since: text("since"),
        until: text("until"),
        before: text("before"),
        limit: text("limit"),
    }
}

/// `k=v&k=v` with keys and values percent-encoded; empty values are left out.
fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but RFC 3986's unreserved characters. The same on the server
/// and in the browser, so hydrated links match the rendered ones.
pub(crate) fn encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// `2026-11-25T14:03:05.123Z` → `2026-11-25 15:03:05 CET` (the viewer's zone).
pub(crate) fn readable_time(at: &str) -> String {
    crate::prefs::zoned_rfc3339(at, "%Y-%m-%d %H:%M:%S %Z")
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let filters = Memo::new(move |_| query.with(|q| filters_from_url(|k| q.get(k))));
    let page = Resource::new(move || filters.get(), get_audit);
    let projects = Resource::new(|| (), |_| audit_projects());
    let chain = Resource::new(|| (), |_| audit_chain_status());
    let csv_href =
        move || filters.with(|f| with_query("/api/v1/audit.csv", &query_string(&f.filter_pairs())));

    view! {
        <Title text="Audit log · picky-fleet"/>
        <section class="audit" aria-labelledby="audit-title">
            <div class="audit__head">
                <h1 id="audit-title">"Audit log"</h1>
                <a class="btn" href=csv_href rel="external" download="picky-fleet-audit.csv">
                    "Download CSV"
                </a>
            </div>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    chain.await.ok().map(|report| view! { <ChainStatus report/> })
                })}
            </Transition>
            <Transition fallback=|| view! { <FilterForm filters=AuditQueryText::default() projects=vec![]/> }>
                {move || {
                    let filters = filters.get();
                    Suspend::new(async move {
                        // Without the list the form still works: the project select offers
                        // "All projects" and whatever the URL already chose.
                        let projects = projects.await.unwrap_or_default();
                        view! { <FilterForm filters projects/> }
                    })
                }}
            </Transition>
            <Transition fallback=|| view! { <p class="loading">"Loading the audit log…"</p> }>
                {move || Suspend::new(async move {
                    let page = page.await;
                    crate::page::skip_the_resource_walk().await;
                    match page {
                        Ok(page) => {
                            let filters = filters.get_untracked();
                            Either::Left(view! { <AuditTable page filters/> })
                        }
                        Err(error) => Either::Right(crate::page::load_error_view(error, "The audit log", "/audit")),
                    }
                })}
            </Transition>
        </section>
    }
}

/// One line on the audit log's seal: verified up to row N, broken (and where), or not checked
/// yet. The check runs in the background (at start and every hour), not on each page view.
#[component]
fn ChainStatus(report: Option<fleet::model::ChainReport>) -> impl IntoView {
    match report {
        None => Either::Left(view! {
            <p class="chain chain--unknown" id="audit-chain">
                "The audit log's seal has not been checked yet; it is checked at start and every hour."
            </p>
        }),
        Some(report) => {
            let checked = format!("Checked {}.", readable_time(&report.checked_at));
            Either::Right(match report.problem {
                None => {
                    let up_to = report.verified_up_to_id.map_or_else(
                        || "No sealed rows yet.".to_owned(),
                        |id| {
                            format!(
                                "Chain verified up to row {id} ({} rows).",
                                report.rows_verified
                            )
                        },
                    );
                    Either::Left(view! {
                        <p class="chain chain--ok" id="audit-chain">
                            <span class="chain__mark" aria-hidden="true">"✓"</span>
                            {up_to}" "<span class="muted">{checked}</span>
                        </p>
                    })
                }
                Some(problem) => Either::Right(view! {
                    <p class="alert alert--error chain" id="audit-chain" role="alert">
                        <strong>"The audit log's chain is broken: "</strong>
                        {problem.message}". "{checked}
                        " Compare with a backup, and run `picky-fleet audit verify` after restoring it."
                    </p>
                }),
            })
        }
    }
}

/// The filters as a GET form to `/audit`: submitting starts again from the newest row.
#[component]
fn FilterForm(filters: AuditQueryText, projects: Vec<ProjectChoice>) -> impl IntoView {
    let chosen_project = filters.project_id.clone();
    let unknown_project = (!chosen_project.is_empty()
        && !projects.iter().any(|p| p.id.to_string() == chosen_project))
    .then(|| {
        let label = format!("Project #{chosen_project}");
        view! { <option value=chosen_project.clone() selected>{label}</option> }
    });
    let project_options = projects
        .into_iter()
        .map(|p| {
            let value = p.id.to_string();
            let selected = value == filters.project_id;
            view! { <option value=value selected=selected>{p.name}</option> }
        })
        .collect_view();
    let action_options = AuditAction::ALL
        .into_iter()
        .map(|a| {
            view! { <option value=a.as_str() selected=filters.action == a.as_str()>{a.label()}</option> }
        })
        .collect_view();
    let outcome_options = AuditOutcome::ALL
        .into_iter()
        .map(|o| {
            view! { <option value=o.as_str() selected=filters.outcome == o.as_str()>{o.label()}</option> }
        })
        .collect_view();
    // A date picker when the value is a date (or empty); free text keeps an RFC 3339 time
    // from a shared link instead of the picker silently dropping it.
    let time_input = |value: &str| {
        if value.is_empty() || NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok() {
            "date"
        } else {
            "text"
        }
    };
    let since_type = time_input(&filters.since);
    let until_type = time_input(&filters.until);
    let has_filters = !filters.filter_pairs().is_empty();

    view! {
        <Form method="get" action="/audit" attr:class="audit__filters" attr:role="search" attr:aria-label="Filter the audit log">
            <label class="audit__field">
                <span>"Project"</span>
                <select name="project_id">
                    <option value="">"All projects"</option>
                    {unknown_project}
                    {project_options}
                </select>
            </label>
            <label class="audit__field">
                <span>"User"</span>
                <input
                    type="text"
                    name="actor"
                    value=filters.actor.clone()
                    placeholder="exact name"
                    autocomplete="off"
                    spellcheck="false"
                />
            </label>
            <label class="audit__field">
                <span>"Action"</span>
                <select name="action">
                    <option value="">"All actions"</option>
                    {action_options}
                </select>
            </label>
            <label class="audit__field">
                <span>"Outcome"</span>
                <select name="outcome">
                    <option value="">"All outcomes"</option>
                    {outcome_options}
                </select>
            </label>
            <label class="audit__field">
                <span>"From (UTC)"</span>
                <input type=since_type name="since" value=filters.since.clone() placeholder="2026-11-25"/>
            </label>
            <label class="audit__field">
                <span>"Until (UTC, not included)"</span>
                <input type=until_type name="until" value=filters.until.clone() placeholder="2026-11-26"/>
            </label>
            <div class="audit__buttons">
                <button type="submit" class="btn btn--primary">"Apply filters"</button>
                {has_filters.then(|| view! { <a class="btn btn--quiet" href="/audit">"Clear"</a> })}
            </div>
        </Form>
    }
}

#[component]
fn AuditTable(page: fleet::model::AuditPage, filters: AuditQueryText) -> impl IntoView {
    let paged = !filters.before.is_empty();
    let mut pairs = filters.filter_pairs();
    pairs.push(("limit", &filters.limit));
    let newest_href = with_query("/audit", &query_string(&pairs));
    let older_href = page.next_before.map(|before| {
        let before = before.to_string();
        let mut pairs = pairs.clone();
        pairs.push(("before", &before));
        with_query("/audit", &query_string(&pairs))
    });
    let count = page.entries.len();
    let pager = (paged || older_href.is_some()).then(|| {
        view! {
            <nav class="audit__pager" aria-label="Audit log pages">
                {paged.then(|| view! { <a class="btn" href=newest_href.clone()>"← Newest"</a> })}
                {older_href.map(|href| view! { <a class="btn audit__older" href=href rel="next">"Older →"</a> })}
            </nav>
        }
    });

    if count == 0 {
        let message = if paged {
            "There are no older entries."
        } else if filters.filter_pairs().is_empty() {
            "Nothing has been recorded yet."
        } else {
            "No entries match these filters."
        };
        return Either::Left(view! {
            <p class="empty">{message}</p>
            {pager}
        });
    }

    let rows = page
        .entries
        .into_iter()
        .map(|e| view! { <AuditRow entry=e/> })
        .collect_view();
    let caption = format!(
        "{count} {}, newest first{}",
        if count == 1 { "entry" } else { "entries" },
        if paged { " (older page)" } else { "" }
    );
    Either::Right(view! {
        <div class="audit__scroll" role="region" aria-labelledby="audit-caption" tabindex="0">
            <table class="audit__table">
                <caption id="audit-caption">{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Time"</th>
                        <th scope="col">"User"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Project"</th>
                        <th scope="col">"Command"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Detail"</th>
                        <th scope="col" class="audit__num">"Latency (ms)"</th>
                        <th scope="col">"Request id"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {pager}
    })
}

#[component]
fn AuditRow(entry: AuditEntry) -> impl IntoView {
    let dash = || "—".to_owned();
    let time = readable_time(&entry.at);
    view! {
        <tr data-audit-id=entry.id>
            <td class="audit__time"><time datetime=entry.at.clone()>{time}</time></td>
            <td class="audit__actor">{entry.actor}</td>
            <td>
                {entry.action.label()}
                {entry.batch_id.map(|id| view! { " " <a href=format!("/batches/{id}") title="The bulk command's progress">{format!("#{id}")}</a> })}
            </td>
            <td>{entry.project_name.unwrap_or_else(dash)}</td>
            <td>{entry.command.unwrap_or_else(dash)}</td>
            <td>
                <span class=format!("badge badge--{}", entry.outcome.slug()) data-outcome=entry.outcome.as_str()>
                    {entry.outcome.label()}
                </span>
            </td>
            <td class="audit__detail">{entry.detail.unwrap_or_else(dash)}</td>
            <td class="audit__num">{entry.upstream_latency_ms.map(|ms| ms.to_string()).unwrap_or_else(dash)}</td>
            <td class="audit__rid">{entry.request_id.unwrap_or_else(dash)}</td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(pairs: &[(&str, &str)]) -> AuditQueryText {
        filters_from_url(|k| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_url_gives_every_filter_trimmed() {
        let f = filters(&[
            ("project_id", "7"),
            ("actor", " alice "),
            ("since", "2026-11-25"),
            ("before", " 120 "),
            ("limit", "20"),
        ]);
        assert_eq!(
            f,
            AuditQueryText {
                project_id: "7".into(),
                actor: "alice".into(),
                since: "2026-11-25".into(),
                before: "120".into(),
                limit: "20".into(),
                ..Default::default()
            }
        );
        assert_eq!(filters(&[]), AuditQueryText::default());
    }

    #[test]
    fn query_strings_are_encoded_and_skip_empty_values() {
        let f = filters(&[("actor", "a b&c=d"), ("action", "sign_in"), ("since", "")]);
        assert_eq!(
            query_string(&f.filter_pairs()),
            "actor=a%20b%26c%3Dd&action=sign_in"
        );
        assert_eq!(
            encode("2026-11-25T14:00:00+05:30"),
            "2026-11-25T14%3A00%3A00%2B05%3A30"
        );
        assert_eq!(with_query("/audit", ""), "/audit");
        assert_eq!(with_query("/audit", "before=3"), "/audit?before=3");
    }

    #[test]
    fn times_read_as_utc() {
        assert_eq!(
            readable_time("2026-11-25T14:03:05.123Z"),
            "2026-11-25 14:03:05 UTC"
        );
        assert_eq!(
            readable_time("2026-11-25T19:33:05+05:30"),
            "2026-11-25 14:03:05 UTC"
        );
        assert_eq!(readable_time("garbage"), "garbage");
    }
}

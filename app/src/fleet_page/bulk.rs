//! Bulk commands on the fleet page: a checkbox on each card (for operators) and a bar that
//! counts the selection, selects every project matching the current filter and search, and
//! sends the selection with a command to the confirmation page (`/batches/new`), where the
//! server names the count and the first projects and a destructive command asks for the
//! count typed. The batch itself runs on the server (`crate::batch_page`).
//!
//! The selection lives in the island above the grid (`FleetBoard`), so live updates and a
//! reload of the fleet after a missed event leave it as it was. Kept small: this is the
//! first page's wasm.

use leptos::prelude::*;

/// The projects ticked, by id, in the order ticked (a plain list: the first page's wasm is
/// smaller without a set's code, and a selection is at most a few hundred ids).
pub(super) type Selection = RwSignal<Vec<i64>>;

/// A card's checkbox.
#[component]
pub(super) fn SelectBox(id: i64, name: String, selection: Selection) -> impl IntoView {
    view! {
        <input
            type="checkbox"
            class="card__select"
            aria-label=format!("Select {name}")
            prop:checked=move || selection.with(|s| s.contains(&id))
            on:change=move |ev| {
                let on = event_target_checked(&ev);
                selection.update(|s| {
                    s.retain(|x| *x != id);
                    if on { s.push(id); }
                });
            }
        />
    }
}

/// The bar above the grid. `matching` holds the positions (in `projects`) of the cards the
/// filter and search show now: the grid's own memo, reused rather than derived again.
#[component]
pub(super) fn BulkBar(
    selection: Selection,
    matching: Memo<Vec<usize>>,
    projects: StoredValue<Vec<super::Project>>,
    hydrated: RwSignal<bool>,
) -> impl IntoView {
    let count = move || selection.with(Vec::len);
    let ids = move || {
        selection.with(|s| {
            s.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    let select_matching = move |_| {
        selection.update(|s| {
            matching.with_untracked(|positions| {
                projects.with_value(|projects| {
                    for &p in positions {
                        let id = projects[p].id;
                        if !s.contains(&id) {
                            s.push(id);
                        }
                    }
                })
            })
        });
    };
    view! {
        // Until something is ticked only the count and "select all" show (CSS): on a phone the
        // cards come first.
        <form
            class="bulk"
            method="get"
            action="/batches/new"
            aria-label="Bulk command"
            data-selected=move || (count() > 0).to_string()
        >
            <span class="bulk__count" role="status">
                {move || match count() {
                    0 => "No project selected".to_owned(),
                    1 => "1 project selected".to_owned(),
                    n => format!("{n} projects selected"),
                }}
            </span>
            <button type="button" class="btn" disabled=move || !hydrated.get() on:click=select_matching>
                {move || format!("Select all {} shown", matching.with(Vec::len))}
            </button>
            <button
                type="button"
                class="btn bulk__clear"
                disabled=move || count() == 0
                on:click=move |_| selection.update(Vec::clear)
            >
                "Clear"
            </button>
            <input type="hidden" name="ids" prop:value=ids/>
            <label class="bulk__command">
                "Command "
                <select name="command"><CommandOptions/></select>
            </label>
            <button type="submit" class="btn btn--primary" disabled=move || count() == 0>
                "Review…"
            </button>
        </form>
    }
}

/// Every command, as `Command::ALL` has them, written out rather than mapped: a static list
/// costs the first page's wasm less. The test below keeps it in step.
#[component]
fn CommandOptions() -> impl IntoView {
    view! {
        <option value="restart">"Restart app"</option>
        <option value="restart-server">"Restart server"</option>
        <option value="delete-message-queue">"Clear queue"</option>
        <option value="disconnect">"Disconnect"</option>
        <option value="clearlogs">"Clear logs"</option>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use leptos::prelude::*;

    #[test]
    fn the_command_list_is_every_command_with_its_label() {
        let owner = Owner::new();
        owner.set();
        // Hydration markers (`<!>`) aside.
        let html = view! { <super::CommandOptions/> }
            .to_html()
            .replace("<!>", "");
        for command in pickyassist::Command::ALL {
            let option = format!(
                "<option value=\"{}\">{}</option>",
                command.wire_name(),
                command.label()
            );
            assert!(html.contains(&option), "{option} missing from {html}");
        }
        assert_eq!(
            html.matches("<option").count(),
            pickyassist::Command::ALL.len()
        );
    }
}
